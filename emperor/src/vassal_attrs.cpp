// Reading a vassal file's fork server attributes (see vassal_attrs.hpp).
#include "vassal_attrs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

namespace brood::emperor {
namespace {

constexpr std::size_t max_ini = 1 << 20;

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::string_view unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    return s.substr(1, s.size() - 2);
  return s;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         std::string_view(s).substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string ini_value(const std::string& text, const std::string& section, const std::string& key) {
  std::string_view rest(text);
  std::string_view current;
  while (!rest.empty()) {
    const auto eol = rest.find('\n');
    const std::string_view line = trim(rest.substr(0, eol));
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (line.empty() || line.front() == ';' || line.front() == '#') continue;
    if (line.front() == '[') {
      const auto close = line.find(']');
      current =
          close == std::string_view::npos ? std::string_view() : trim(line.substr(1, close - 1));
      continue;
    }
    if (current != section) continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || trim(line.substr(0, eq)) != key) continue;
    return std::string(unquote(trim(line.substr(eq + 1))));
  }
  return {};
}

bool ini_has_section(const std::string& text, const std::string& section) {
  std::string_view rest(text);
  while (!rest.empty()) {
    const auto eol = rest.find('\n');
    const std::string_view line = trim(rest.substr(0, eol));
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (line.empty() || line.front() != '[') continue;
    const auto close = line.find(']');
    if (close != std::string_view::npos && trim(line.substr(1, close - 1)) == section) return true;
  }
  return false;
}

void read_fork_attrs(const std::string& attr, vassal_file& file) {
  file.fork_server.clear();
  file.serves.clear();
  if (!ends_with(file.path, ".ini")) return;
  // read(2) in chunks: a 1 MiB string filled with zeros first, then an ifstream, cost the
  // emperor ~0.2 ms per vassal file on its way to the vassal's start (bench/RESULTS.md, issue 14).
  const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return;
  std::string text;
  char chunk[16384];
  while (text.size() < max_ini) {
    const ssize_t n = ::read(fd, chunk, std::min(sizeof chunk, max_ini - text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!attr.empty()) file.fork_server = ini_value(text, "emperor", attr);
  file.serves = ini_value(text, "uwsgi", "fork-server");
  if (file.serves.empty()) file.serves = ini_value(text, "uwsgi", "fork-socket");
}

}  // namespace brood::emperor
