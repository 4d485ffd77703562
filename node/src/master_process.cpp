// The master's process options: attach-daemon (daemon_manager) and touch-reload (touch_watch).
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "brood/os/log.hpp"
#include "brood/os/unique_fd.hpp"
#include "master.hpp"

namespace brood::node {
namespace {

constexpr std::chrono::seconds touch_check_every{1};
constexpr int daemon_stop_ms = 3000;  // SIGKILL after this

// Waits for `pid` up to `ms` milliseconds (pidfd + poll); reaps it. False when it is still alive.
bool wait_for_exit(pid_t pid, int ms) {
  os::unique_fd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (fd) {
    pollfd p{fd.get(), POLLIN, 0};
    while (::poll(&p, 1, ms) < 0 && errno == EINTR) {
    }
  }
  return ::waitpid(pid, nullptr, WNOHANG) != 0;
}

}  // namespace

void master::start_process_options() {
  const process_config& p = cfg_.process;
  std::vector<daemon_spec> specs;
  for (const std::string& c : p.attach_daemons) specs.push_back({c, {}});
  for (const std::string& s : p.smart_attach_daemons) {
    const auto space = s.find(' ');  // the CLI checked there is one
    specs.push_back({s.substr(space + 1), s.substr(0, space)});
  }
  if (!specs.empty()) {
    daemon_launcher_ = std::make_unique<os_daemon_launcher>();
    daemons_ = std::make_unique<daemon_manager>(std::move(specs), *daemon_launcher_);
    daemons_->start(std::chrono::steady_clock::now());
  }
  if (!p.touch_reload.empty()) {
    touch_ = std::make_unique<touch_watch>(p.touch_reload);
    loop_.after(touch_check_every, [this] { on_touch_check(); });
  }
}

void master::on_touch_check() {
  if (core_->finished()) return;
  if (auto file = touch_->changed()) {
    os::log("*** ", *file, " has been touched... grace them all !!! ***");
    core_->on_reload_signal(moment::now());
    after_event();
  }
  loop_.after(touch_check_every, [this] { on_touch_check(); });
}

void master::on_daemon_timer() {
  daemon_timer_ = 0;
  daemons_->on_tick(std::chrono::steady_clock::now());
  after_event();
}

void master::arm_daemon_timer() {
  if (!daemons_) return;
  if (daemon_timer_) loop_.cancel(daemon_timer_);
  daemon_timer_ = 0;
  if (const auto due = daemons_->next_deadline())
    daemon_timer_ = loop_.at(*due, [this] { on_daemon_timer(); });
}

void master::stop_daemons() {
  if (!daemons_) return;
  for (pid_t pid : daemons_->stop()) {
    if (wait_for_exit(pid, daemon_stop_ms)) continue;
    daemon_launcher_->signal(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace brood::node
