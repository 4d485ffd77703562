#pragma once
// Everything a node needs to run, filled by the CLI from options and ini files.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "brood/legion/config.hpp"
#include "brood/node/cheaper_config.hpp"
#include "brood/node/http_config.hpp"
#include "brood/node/lifetime_config.hpp"
#include "brood/node/log_config.hpp"
#include "brood/node/process_config.hpp"
#include "brood/node/subscription_config.hpp"
#include "brood/spooler/config.hpp"
#include "brood/wire/limits.hpp"

namespace brood::node {

struct node_config {
  std::vector<std::string> sockets;  // socket = ADDR (repeatable)
  unsigned processes = 1;            // processes / workers
  bool master = false;               // master (processes > 1 implies it)
  wire::limits limits;               // buffer-size, max-vars
  int listen_queue = 100;            // listen: backlog of every bound socket
  // socket-timeout: a client must deliver a whole request (and take the reply) within this.
  std::chrono::milliseconds socket_timeout{4000};
  // keepalive-timeout (brood): an idle kept-alive connection is closed after this.
  std::chrono::milliseconds keepalive_timeout{60000};
  // reload-mercy / worker-reload-mercy: on stop or reload, workers get this long to finish
  // in-flight requests before SIGKILL.
  std::chrono::milliseconds reload_mercy{60000};
  // heartbeat: as a vassal (UWSGI_EMPEROR_FD), every worker sends the heartbeat byte (26) to the
  // emperor this often while alive. 0: never.
  std::chrono::seconds heartbeat{0};
  // stats / stats-server: the master serves the node's state as uWSGI's stats JSON
  // (docs/uwsgi-compat.md §11) on this address (HOST:PORT, or a UNIX socket path). Empty: no stats.
  std::string stats;
  // The largest request body (body_policy::content_length) a worker buffers; a larger
  // CONTENT_LENGTH gets a failure reply and the connection is closed.
  std::size_t max_body_size = 64 * 1024 * 1024;
  spooler::spooler_config spooler;
  // cheaper*, memory-report: adaptive worker pools (cheaper_config.hpp). Implies master.
  cheaper_config cheaper;
  // check-interval: how often the master runs its periodic checks (the cheaper algorithms of
  // uWSGI, idle); 1..86400 s.
  std::chrono::seconds check_interval{1};
  // idle: after this long without a request (and none in flight) every worker stops and the
  // master waits for the next connection to spawn them again (cheap mode). 0: never.
  std::chrono::seconds idle{0};
  // die-on-idle: instead of cheap mode, the node stops (a vassal asks its emperor, byte 22).
  bool die_on_idle = false;
  // master-fifo PATH (repeatable): the master's control FIFOs; slot i is the i-th path (0..9).
  std::vector<std::string> master_fifo;
  // vassal-sos: as a vassal, ask the emperor for reinforcements (SOS, byte 30) once every worker
  // slot has been busy for this long. 0: never.
  std::chrono::seconds vassal_sos{0};
  // vassal-sos-backlog: as a vassal, SOS while the listen queue holds at least this many
  // connections. 0: never.
  unsigned vassal_sos_backlog = 0;
  // zerg-server PATH: the master hands its listening sockets to zergs that connect to this unix
  // socket (docs/uwsgi-compat.md §6). Empty: none. Needs the master.
  std::string zerg_server;
  // zerg PATH (repeatable): attach to the listening sockets of these zerg servers, in order; the
  // configured sockets they do not name are bound as well.
  std::vector<std::string> zergs;
  // zerg-fallback: when an attach fails, go on (bind the configured sockets) instead of exiting.
  bool zerg_fallback = false;
  // reuse-port: SO_REUSEPORT on the TCP sockets the node binds.
  bool reuse_port = false;
  // threads: each worker serves this many requests at once, one per thread (its "cores").
  unsigned threads = 1;
  // enable-threads: Python threads started by the application run (the GIL is released while a
  // worker waits); implied by threads > 1.
  bool enable_threads = false;
  http_config http;          // http_config.hpp
  lifetime_config lifetime;  // lifetime_config.hpp
  process_config process;    // process_config.hpp
  log_config log;            // log_config.hpp
  // legion = NAME ADDR VALOR SECRET and its options (docs/config.md "Legion"): the master is a
  // member of each legion (brood/legion/member.hpp). Implies master.
  legion::config legion;
  // subscribe-to / subscribe2 and their options (subscription_config.hpp). Implies master.
  subscription_config subscription;
};

}  // namespace brood::node
