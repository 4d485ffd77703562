#pragma once
// The `legion-attach-daemon` commands of one legion: running while this member is lord. Started
// on lord, respawned (at most once a second each) when they die while lord, stopped on unlord and
// at shutdown: SIGTERM to each one's process group, SIGKILL after 3 s. Used on the hook thread
// only (not thread-safe).
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "detached.hpp"

namespace brood::legion {

class attach_daemons {
 public:
  attach_daemons(std::string legion, std::vector<std::string> commands);
  ~attach_daemons();  // stop()

  void start(const std::vector<std::string>& env);  // lord
  void check();                                     // respawns the dead ones while started
  void stop();                                      // unlord, shutdown
  bool started() const noexcept { return started_; }

 private:
  struct daemon {
    std::string command;
    std::optional<detached_process> proc;
    std::chrono::steady_clock::time_point spawned{};
  };
  void spawn(daemon& d);

  std::string legion_;
  std::vector<daemon> daemons_;
  std::vector<std::string> env_;
  bool started_ = false;
};

}  // namespace brood::legion
