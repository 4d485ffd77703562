#pragma once
// The hook thread of a process's legions (member.hpp): jobs run one at a time, in the order they
// were posted, never on a legion's thread; `periodic` runs between jobs at least every 250 ms
// (the attach daemons' respawn). The thread blocks every signal (the owner takes them).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "brood/legion/config.hpp"

namespace brood::legion {

class hook_runner {
 public:
  explicit hook_runner(std::function<void()> periodic = {});
  // Runs every job still queued, then joins.
  ~hook_runner();
  hook_runner(const hook_runner&) = delete;
  hook_runner& operator=(const hook_runner&) = delete;

  void post(std::function<void()> job);  // thread-safe

 private:
  void loop();
  std::function<void()> periodic_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

// What a hook is told: BROOD_LEGION, BROOD_LEGION_EVENT, BROOD_LEGION_EPOCH, BROOD_LEGION_NODE.
struct hook_context {
  std::string legion;
  hook_event event = hook_event::setup;
  std::uint64_t epoch = 0;
  std::string node;  // node-joined / node-left: the member's address
};

std::vector<std::string> hook_environment(const hook_context& c);

// Runs `actions` in order on the calling thread: cmd/exec through spawn_detached (waited for, up
// to a minute), log as a log line, signal through `raise_signal` (logged when unset).
void run_hook_actions(const std::vector<hook_action>& actions, const hook_context& c,
                      const std::function<void(int)>& raise_signal);

// Creates a thread with every signal blocked in it.
std::thread thread_without_signals(std::function<void()> body);

}  // namespace brood::legion
