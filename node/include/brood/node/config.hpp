#pragma once
// Everything a node needs to run, filled by the CLI from options and ini files.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "brood/wire/limits.hpp"

namespace brood::node {

// The spooler options (UWSGI_FACTS.md §3.6, docs/config.md). Empty dirs and external_dirs: no
// spooler; modifier1 17 is then answered with the failure reply.
struct spooler_config {
  std::vector<std::string> dirs;           // spooler / -Q DIR (repeatable): processes run here
  std::vector<std::string> external_dirs;  // spooler-external DIR: writable, no process
  unsigned processes = 1;                  // spooler-processes: processes per dir
  // spooler-frequency / spooler-freq: the full rescan period. brood also wakes at once on a new
  // file (inotify, SIGUSR1) and at the due time of the earliest `at`/retry it knows of.
  std::chrono::seconds frequency{30};
  bool ordered = false;              // spooler-ordered: run tasks in file-name (version) order
  unsigned max_tasks = 0;            // spooler-max-tasks: a process exits after N tasks (0: never)
  std::chrono::seconds harakiri{0};  // spooler-harakiri: SIGKILL a task running longer (0: off)
  std::string chdir;                 // spooler-chdir: working directory while a task runs
  bool quiet = false;                // spooler-quiet: no per-task log lines
  // brood: a task that failed this many attempts moves to DIR/failed/ (0: retry forever).
  unsigned max_attempts = 10;  // spooler-max-attempts
  // brood: the retry delay after attempt n is min(retry_delay * 2^(n-1), retry_max_delay).
  std::chrono::milliseconds retry_delay{1000};        // spooler-retry-delay (ms)
  std::chrono::milliseconds retry_max_delay{300000};  // spooler-retry-max-delay (ms)

  bool any() const noexcept { return !dirs.empty() || !external_dirs.empty(); }
};

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
  // (UWSGI_FACTS.md §11) on this address (HOST:PORT, or a UNIX socket path). Empty: no stats.
  std::string stats;
  // The largest request body (body_policy::content_length) a worker buffers; a larger
  // CONTENT_LENGTH gets a failure reply and the connection is closed.
  std::size_t max_body_size = 64 * 1024 * 1024;
  spooler_config spooler;
};

}  // namespace brood::node
