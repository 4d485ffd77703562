#include "hook_runner.hpp"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <utility>

#include "brood/os/log.hpp"
#include "detached.hpp"

namespace brood::legion {
namespace {

constexpr std::chrono::milliseconds periodic_every{250};
constexpr std::chrono::minutes hook_wait{1};  // a cmd hook still running then is left running

const char* action_name(hook_action::kind k) {
  switch (k) {
    case hook_action::kind::cmd:
      return "cmd";
    case hook_action::kind::exec:
      return "exec";
    case hook_action::kind::log:
      return "log";
    case hook_action::kind::signal:
      return "signal";
  }
  return "?";
}

}  // namespace

std::thread thread_without_signals(std::function<void()> body) {
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  std::thread t(std::move(body));
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

hook_runner::hook_runner(std::function<void()> periodic) : periodic_(std::move(periodic)) {
  thread_ = thread_without_signals([this] { loop(); });
}

hook_runner::~hook_runner() {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void hook_runner::post(std::function<void()> job) {
  {
    std::lock_guard lock(m_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
}

void hook_runner::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(m_);
      cv_.wait_for(lock, periodic_every, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty() && stopping_) return;
      if (!jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
    }
    if (job) job();
    if (periodic_) periodic_();
  }
}

std::vector<std::string> hook_environment(const hook_context& c) {
  std::vector<std::string> env = {"BROOD_LEGION=" + c.legion,
                                  std::string("BROOD_LEGION_EVENT=") + hook_event_name(c.event),
                                  "BROOD_LEGION_EPOCH=" + std::to_string(c.epoch)};
  if (!c.node.empty()) env.push_back("BROOD_LEGION_NODE=" + c.node);
  return env;
}

void run_hook_actions(const std::vector<hook_action>& actions, const hook_context& c,
                      const std::function<void(int)>& raise_signal) {
  const char* event = hook_event_name(c.event);
  for (const hook_action& a : actions) {
    switch (a.what) {
      case hook_action::kind::cmd:
      case hook_action::kind::exec: {
        std::string error;
        std::optional<detached_process> p = spawn_detached(a.arg, hook_environment(c), error);
        if (!p) {
          os::log("legion '", c.legion, "' ", event, " hook ", action_name(a.what), ":", a.arg,
                  ": cannot run: ", error);
        } else if (!wait_exit(*p, hook_wait)) {
          os::log("legion '", c.legion, "' ", event, " hook ", action_name(a.what), ":", a.arg,
                  ": still running after a minute, left running");
        }
        break;
      }
      case hook_action::kind::log:
        os::log("legion '", c.legion, "' ", event, " (epoch ", c.epoch, "): ", a.arg);
        break;
      case hook_action::kind::signal: {
        const int n = std::stoi(a.arg);  // checked by apply_legion_hook
        if (raise_signal)
          raise_signal(n);
        else
          os::log("legion '", c.legion, "' ", event, ": uwsgi signal ", n,
                  " (no uwsgi signal handlers in this process)");
        break;
      }
    }
  }
}

}  // namespace brood::legion
