#pragma once
// Private to the spool store: names of new spool files, as uWSGI makes them (docs/uwsgi-compat.md
// §3.3): uwsgi_spoolfile_on_<hostname>_<pid>_<counter>_<random>_<sec>_<usec>.
// Thread-safe and fork-safe: the counter is a per-process atomic, the random number comes from a
// lock-free per-process generator reseeded (from the pid and the clock) the first time it is used
// in a process whose pid differs from the one that seeded it.
#include <sys/types.h>

#include <string>
#include <string_view>

namespace brood::spooler {

// The part after the prefix: "<hostname>_<pid>_<counter>_<random>_<sec>_<usec>". Unique among
// all calls of all processes of this host (pid + counter), even when the clock steps back.
std::string next_spool_suffix();
// The same, for the caller's own pid (known already: no getpid call).
std::string next_spool_suffix(pid_t pid);

// "uwsgi_spoolfile_on_" + suffix: the task file's name.
std::string spool_file_name(const std::string& suffix);
// The prefix of a temp file (docs/spool_format.md): no scanner picks it up.
inline constexpr std::string_view spool_temp_prefix = ".brood_tmp_";
// spool_temp_prefix + suffix: its temp file's name.
std::string spool_temp_name(const std::string& suffix);

}  // namespace brood::spooler
