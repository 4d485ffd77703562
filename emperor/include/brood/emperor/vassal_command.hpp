#pragma once
// How a vassal is started (docs/uwsgi-compat.md §4.2): its argv and its environment changes.
#include <string>
#include <string_view>

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

// The ini section a zerg runs (`--ini FILE:zerg`).
inline constexpr std::string_view zerg_section = "zerg";

// A broodlord zerg of the vassal whose file is `file` (docs/uwsgi-compat.md §5.1): the same
// command as vassal_command() except that the path argument is `PATH:zerg` (the type flag is
// still chosen by PATH's extension) and the environment also sets UWSGI_BROODLORD_NUM=`number`.
// spec.name is file.name (the caller passes the zerg's record name there).
launch_spec zerg_command(const emperor_config& cfg, const vassal_file& file, unsigned number,
                         const std::string& self_exe, const std::vector<std::string>& environment);

}  // namespace brood::emperor
