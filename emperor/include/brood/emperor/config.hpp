#pragma once
// Everything an emperor needs to run, filled by the CLI from uWSGI's option names
// (docs/uwsgi-compat.md §4.5, docs/config.md "Emperor").
#include <chrono>
#include <string>
#include <vector>

#include "brood/legion/config.hpp"

namespace brood::emperor {

struct emperor_config {
  // emperor = DIR|GLOB (repeatable): where vassal files live. A value naming one directory is
  // scanned for vassal files (the "dir" monitor); anything else is a glob pattern.
  std::vector<std::string> sources;
  // emperor = legion:NAME,DIR (uWSGI's RFC #314; docs/legion.md "Placement"): the vassal files
  // of DIR are spread over the members of legion NAME; this emperor runs the ones its placement
  // assigns it. At most one; NAME must be a legion of this emperor. Empty legion: none.
  struct legion_source {
    std::string legion;
    std::string dir;
  } placement;
  // True when this process is an emperor (a source or a legion placement).
  bool is_emperor() const noexcept { return !sources.empty() || !placement.legion.empty(); }
  // emperor-freq: the fallback full rescan period (inotify reports changes at once).
  std::chrono::seconds freq{3};
  // emperor-throttle (ms): the respawn delay of a never-loyal vassal after its first death; it
  // doubles with each further death up to emperor-max-throttle (ms). uWSGI 2.0 reads the first
  // value as microseconds by mistake; brood reads milliseconds.
  std::chrono::milliseconds throttle{1000};
  std::chrono::milliseconds max_throttle{180000};
  // emperor-required-heartbeat: a vassal that has sent one heartbeat (26) and then none for this
  // long gets SIGKILL (and is respawned).
  std::chrono::seconds required_heartbeat{30};
  // emperor-curse-tolerance: a vassal told to stop that is still alive after this gets SIGKILL.
  std::chrono::seconds curse_tolerance{30};
  bool graceful_shutdown = false;  // emperor-graceful-shutdown: stop with byte 2, not 0
  bool no_blacklist = false;       // emperor-no-blacklist: never throttle a crash loop
  // emperor-wrapper: the program run for each vassal (default: this brood binary, /proc/self/exe).
  std::string wrapper;
  std::vector<std::string> vassals_inherit;  // vassals-inherit: `--inherit T` after the name
  std::vector<std::string> vassals_include;  // vassals-include: `--include T` after the name
  std::vector<std::string> vassal_set;       // vassal-set / vassals-set: `--set K=V` first
  // emperor-on-demand-extension: a vassal FILE with a file FILE+EXT is on demand; EXT's contents
  // (up to the first control character) name the socket the emperor binds for it.
  std::string on_demand_extension;
  // emperor-on-demand-directory: vassal NAME.ini is on demand with the UNIX socket
  // DIR/NAME.socket.
  std::string on_demand_directory;
  int listen_queue = 100;  // listen: the backlog of on-demand sockets
  // emperor-broodlord: at most this many zergs in all (docs/uwsgi-compat.md §5.1); 0: off, an
  // SOS (byte 30) is only logged.
  unsigned broodlord = 0;
  std::string stats;  // emperor-stats / emperor-stats-server ADDR: serve the JSON there
  // On INT/TERM/QUIT the vassals get this long to stop before SIGKILL (uWSGI: reload-mercy, 30).
  std::chrono::seconds mercy{30};

  // Fork server (docs/uwsgi-compat.md §17.2). emperor-use-fork-server PATH: every vassal that is
  // not a fork base is adopted: forked by the base vassal serving the unix socket PATH instead of
  // exec'd. emperor-fork-server-attr NAME: a vassal whose ini file has NAME = PATH in its
  // [emperor] section is adopted from PATH (it wins over emperor-use-fork-server).
  std::string fork_server;
  std::string fork_server_attr;
  // vassal-fork-base NAME (repeatable): these vassals (by vassal name, with or without its
  // extension) are the bases: always exec'd; a change of their file restarts them and re-forks
  // their adopted vassals one at a time.
  std::vector<std::string> fork_bases;
  // emperor-subreaper: PR_SET_CHILD_SUBREAPER, so adopted vassals (grandchildren of a base) are
  // re-parented to the emperor and reaped by it. Implied by the fork-server options.
  bool subreaper = false;
  // How long an adopted vassal waits for a base vassal that is starting (spawned, not yet
  // ready) before it is exec'd instead.
  std::chrono::milliseconds fork_base_wait{10000};
  // How long the launcher waits to connect to a fork server and for its pid reply.
  std::chrono::milliseconds fork_timeout{3000};
  // After a fork server timed out, vassals are exec'd without asking it for this long (or
  // until a base that may serve it sends ready).
  std::chrono::milliseconds hung_fork_server{30000};
  // A re-forked process not ready after this long gets SIGKILL (the old one keeps serving).
  std::chrono::milliseconds refork_ready{30000};
  // legion = NAME ADDR VALOR SECRET and its options (docs/config.md "Legion"): the emperor is a
  // member of each legion (brood/legion/member.hpp).
  legion::config legion;

  bool uses_fork_server() const noexcept {
    return !fork_server.empty() || !fork_server_attr.empty();
  }
};

}  // namespace brood::emperor
