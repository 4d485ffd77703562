#pragma once
// Process log: one line per call on stderr, "[brood <role> <pid>] text". Each line is written
// with a single write(2), so lines of concurrent processes never interleave. Thread-safe.
#include <sstream>
#include <string>
#include <string_view>

namespace brood::os {

void log_line(std::string_view text);
// Writes `text` (plus '\n' if it has none) as it is, without the role prefix: request log
// lines, which have uWSGI's format. One write(2), like log_line.
void log_raw(std::string_view text);
// The role printed in every line of this process ("master", "worker 2", "client"...).
void set_log_role(std::string role);

template <class... Args>
void log(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  log_line(s.str());
}

}  // namespace brood::os
