#pragma once
// Listing the vassal files of one `emperor` source (docs/uwsgi-compat.md §4.1). Internal to the
// emperor module; used by vassal_monitor.
#include <string>
#include <vector>

#include "brood/emperor/monitor.hpp"

namespace brood::emperor {

struct found_vassal {
  vassal_file file;  // on_demand not filled in
  long mtime_nsec = 0;
};

// Appends the vassal files `source` names now: for an existing directory (with or without a
// trailing '/') its regular files with vassal names (name = file name, path = DIR/NAME);
// otherwise the regular files with vassal names that the glob pattern matches (name = path = the
// match). `on_demand_extension` companions are skipped. false with `why` set when the source
// cannot be read (a glob matching nothing is not an error).
bool list_source(const std::string& source, const std::string& on_demand_extension,
                 std::vector<found_vassal>& out, std::string& why);

// Sets `out` to the vassal file `source` lists under `name` now, if any (what list_source would
// append with that name): false when it lists none. Stats one file.
bool find_listed(const std::string& source, const std::string& on_demand_extension,
                 const std::string& name, found_vassal& out);

// The on-demand socket address of the vassal at `path` named `name`, or "": the contents of
// PATH+EXT up to the first control character when that file exists, else DIR/BASE.socket
// (BASE: the name's last path component without its extension) when `directory` is set.
std::string on_demand_address(const std::string& path, const std::string& name,
                              const std::string& extension, const std::string& directory);

// The directory inotify should watch for `source`: the directory itself, or the directory part
// of a glob pattern ("." when it has none). "" when that part has glob characters itself.
std::string watch_dir_of(const std::string& source);

}  // namespace brood::emperor
