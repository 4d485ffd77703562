// The real process_launcher: vfork + exec of vassals with a socketpair channel, and on-demand
// listening sockets (docs/uwsgi-compat.md §4.2, §4.4).
#include "brood/emperor/os_launcher.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "brood/os/address.hpp"
#include "brood/os/listener.hpp"
#include "brood/os/log.hpp"
#include "brood/os/step_trace.hpp"
#include "fork_client.hpp"
#include "os_vassal_process.hpp"
#include "vassal_exec.hpp"

namespace brood::emperor {
namespace {

std::error_code last_error() noexcept { return {errno, std::system_category()}; }

// The channel: [0] the emperor's end (non-blocking, close-on-exec), [1] the vassal's end
// (blocking; close-on-exec until the child clears it), never one of fds 0-2.
std::error_code make_channel(os::unique_fd& ours, os::unique_fd& theirs) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return last_error();
  ours.reset(sv[0]);
  theirs.reset(sv[1]);
  if (theirs.get() < 3) {  // the emperor runs with a closed stdio fd: move it out of the way
    os::unique_fd moved(::fcntl(theirs.get(), F_DUPFD_CLOEXEC, 3));
    if (!moved) return last_error();
    theirs = std::move(moved);
  }
  const int flags = ::fcntl(ours.get(), F_GETFL);
  if (flags < 0 || ::fcntl(ours.get(), F_SETFL, flags | O_NONBLOCK) != 0) return last_error();
  return {};
}

}  // namespace

os_launcher::os_launcher(os::event_loop& loop, launcher_events& events, int backlog)
    : loop_(loop), events_(events), backlog_(backlog) {}

std::unique_ptr<vassal_process> os_launcher::launch(const launch_spec& spec, std::error_code& ec) {
  ec.clear();
  if (spec.argv.empty()) {
    ec = std::make_error_code(std::errc::invalid_argument);
    os::log("vassal ", spec.name, ": nothing to run (empty argv)");
    return nullptr;
  }
  os::unique_fd ours, theirs;
  if ((ec = make_channel(ours, theirs))) {
    os::log("vassal ", spec.name, ": cannot create the channel: ", ec.message());
    return nullptr;
  }
  const exec_plan plan = make_exec_plan(spec, theirs.get());
  const pid_t pid = spawn_vassal(plan);
  if (pid < 0) {
    ec = last_error();
    os::log("vassal ", spec.name, ": cannot fork: ", ec.message());
    return nullptr;
  }
  theirs.reset();
  return std::make_unique<os_vassal_process>(loop_, events_, pid, std::move(ours));
}

adopt_result os_launcher::adopt(const launch_spec& spec, const std::string& fork_server,
                                std::span<const int> inherited) {
  if (spec.argv.empty()) return {nullptr, "nothing to run (empty argv)"};
  os::unique_fd ours, theirs;
  if (const auto ec = make_channel(ours, theirs))
    return {nullptr, "cannot create the channel: " + ec.message()};
  std::vector<int> fds{theirs.get()};
  if (spec.stdin_fd >= 0) fds.push_back(spec.stdin_fd);
  int sockets = 0;
  for (int fd : inherited) {
    if (is_unix_socket_at(fd, fork_server)) continue;
    fds.push_back(fd);
    ++sockets;
  }
  std::string error;
  bool timed_out = false;
  os::step_trace("emperor.decision");
  const pid_t pid = request_fork(fork_server, fork_request_of(spec, sockets), fds, fork_timeout_,
                                 error, timed_out);
  if (pid <= 0) return {nullptr, error, timed_out};
  theirs.reset();
  os::unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd)
    os::log("vassal ", spec.name, " (pid ", pid, "): no pidfd (", std::strerror(errno),
            "): signalled by pid");
  return {
      std::make_unique<os_vassal_process>(loop_, events_, pid, std::move(ours), std::move(pidfd)),
      {},
      false};
}

std::unique_ptr<on_demand_socket> os_launcher::listen(const std::string& name,
                                                      const std::string& address,
                                                      std::error_code& ec) {
  ec.clear();
  auto parsed = os::parse_address(address);
  if (!parsed) {
    ec = parsed.error().code();
    os::log("on-demand vassal ", name, ": bad socket address: ", parsed.error().message());
    return nullptr;
  }
  auto bound = os::bind_socket(*parsed, backlog_);
  if (!bound) {
    ec = bound.error().code();
    os::log("on-demand vassal ", name, ": ", bound.error().message());
    return nullptr;
  }
  std::string unix_path =
      parsed->type == os::address::kind::unix_path ? parsed->path : std::string();
  return std::make_unique<on_demand_listener>(loop_, events_, name, address, std::move(unix_path),
                                              std::move(bound->fd));
}

}  // namespace brood::emperor
