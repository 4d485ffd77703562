#pragma once
// How a vassal is started (docs/uwsgi-compat.md §4.2): its argv and its environment changes.
#include <string>

#include "brood/emperor/config.hpp"
#include "brood/emperor/launcher.hpp"
#include "brood/emperor/monitor.hpp"

namespace brood::emperor {

// argv: the wrapper (emperor-wrapper, else `self_exe`), `--set K=V` per vassal-set, the type flag
// chosen by extension (.ini --ini, .xml --xml, .yml/.yaml --yaml, .js/.json --json), the path,
// then `--inherit T` per vassals-inherit and `--include T` per vassals-include.
// Environment: every UWSGI_VASSAL_xxx variable of `environment` becomes UWSGI_xxx in the vassal
// (the UWSGI_VASSAL_xxx one removed); UWSGI_RELOADS and NOTIFY_SOCKET are removed.
// `environment`: "K=V" strings (the emperor's environment; a test passes its own).
launch_spec vassal_command(const emperor_config& cfg, const vassal_file& file,
                           const std::string& self_exe,
                           const std::vector<std::string>& environment);

}  // namespace brood::emperor
