#pragma once
// The OS boundary of the emperor: starting vassal processes and binding on-demand sockets.
// emperor_core drives these interfaces only; the real implementation (os_launcher.hpp) forks and
// execs, a test passes fakes that record what was asked and never touch the OS.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "brood/os/unique_fd.hpp"
#include "brood/wire/emperor_protocol.hpp"

namespace brood::emperor {

// What to run for one vassal (built by vassal_command.hpp).
struct launch_spec {
  std::string name;               // the vassal's name (log lines, stats)
  std::vector<std::string> argv;  // argv[0] is the program (execvp: looked up on PATH)
  // The environment changes, applied to the emperor's environment: `unset` names are removed
  // first, then `set` ("K=V") entries added or replaced. UWSGI_EMPEROR_FD is the launcher's.
  std::vector<std::string> unset;
  std::vector<std::string> set;
  int stdin_fd = -1;  // >= 0: dup'ed onto the vassal's fd 0 (the on-demand socket); else /dev/null
  // > 0: the vassal runs this much nicer than the emperor (a legion-placed vassal,
  // legion-vassal-nice); an exec'd vassal only (a fork server's children keep its nice value).
  int nice = 0;
};

// One running vassal process with its control channel. Destroying the handle closes the
// emperor's end of the channel (the vassal sees EOF and stops) but sends no signal and does not
// reap: exits are reported to the core by whoever reaps (on_exit).
class vassal_process {
 public:
  virtual ~vassal_process() = default;
  virtual pid_t pid() const noexcept = 0;
  // Sends one command byte without blocking. false: the channel is gone or full (logged).
  virtual bool send(wire::emperor_command c) noexcept = 0;
  // kill(2) of the vassal's pid (pidfd_send_signal for an adopted one); a process already gone
  // is ignored.
  virtual void signal(int signo) noexcept = 0;
  // Copies of the process's listening sockets (every fd that is a socket with SO_ACCEPTCONN,
  // taken with pidfd_getfd), in the order of their fd numbers, for a rolling re-fork. Empty with
  // `error` set when they cannot be taken; the default cannot.
  virtual std::vector<os::unique_fd> listening_sockets(std::string& error) {
    error = "this process's sockets cannot be taken";
    return {};
  }
};

// What process_launcher::adopt returns: the process, or null and why not (one line).
struct adopt_result {
  std::unique_ptr<vassal_process> process;
  std::string error;
  bool timed_out = false;  // the fork server did not answer in time (it may be hung)
};

// A listening socket bound by the emperor for an on-demand vassal. While armed, the first
// connection waiting on it is reported (launcher_events::on_demand_connection); disarmed
// while the vassal serves it. Destroying it closes the socket (and unlinks a UNIX socket path).
class on_demand_socket {
 public:
  virtual ~on_demand_socket() = default;
  virtual int fd() const noexcept = 0;
  virtual const std::string& address() const noexcept = 0;
  virtual void arm(bool armed) noexcept = 0;
};

// Where a real launcher reports what happens on the channels and on-demand sockets it watches
// (the emperor loop forwards each event to emperor_core with the current moment).
class launcher_events {
 public:
  virtual ~launcher_events() = default;
  virtual void on_message(pid_t pid, std::uint8_t byte) = 0;
  virtual void on_channel_closed(pid_t pid) = 0;  // once per process
  virtual void on_demand_connection(const std::string& name) = 0;
};

class process_launcher {
 public:
  virtual ~process_launcher() = default;
  // Starts a vassal: a socketpair for the channel (the vassal's end in UWSGI_EMPEROR_FD), the
  // parent-death signal SIGKILL, fds >= 3 other than the channel closed, then exec of
  // spec.argv. Bytes the vassal sends and the channel's EOF are reported (launcher_events) under
  // the vassal's pid. null with `ec` set when the process could not be started; an exec failure
  // shows up later as an exit with status 26.
  virtual std::unique_ptr<vassal_process> launch(const launch_spec& spec, std::error_code& ec) = 0;
  // Adopts a vassal (docs/uwsgi-compat.md §17.2): connects to the fork server's unix socket
  // `fork_server` (bounded wait), sends the fork request (wire/fork_protocol.hpp) with spec.argv,
  // the vassal's end of a new channel, spec.stdin_fd as the on-demand socket (0x04), `inherited`
  // as inherited listening sockets (0x08) and, only when spec.set is non-empty, the environment
  // changes (0x10: spec.unset names, then spec.set), then reads the pid reply (bounded wait). The
  // process is the base's grandchild: it is reaped by the emperor once re-parented (subreaper),
  // and signalled through a pidfd. Never falls back to exec itself. The default cannot adopt.
  virtual adopt_result adopt(const launch_spec& spec, const std::string& fork_server,
                             std::span<const int> inherited) {
    (void)spec, (void)fork_server, (void)inherited;
    return {nullptr, "this launcher cannot adopt vassals", false};
  }
  // Binds and listens on `address` (TCP when it contains ':', ":port" meaning every address;
  // otherwise a UNIX socket path, unlinked first, mode 0666) for the on-demand vassal `name`.
  // Returned disarmed. null with `ec` set when it cannot be bound.
  virtual std::unique_ptr<on_demand_socket> listen(const std::string& name,
                                                   const std::string& address,
                                                   std::error_code& ec) = 0;
};

}  // namespace brood::emperor
