#include "attach_daemons.hpp"

#include <signal.h>

#include <utility>

#include "brood/os/log.hpp"

namespace brood::legion {
namespace {

constexpr std::chrono::seconds respawn_every{1};
constexpr std::chrono::seconds stop_mercy{3};

}  // namespace

attach_daemons::attach_daemons(std::string legion, std::vector<std::string> commands)
    : legion_(std::move(legion)) {
  for (std::string& c : commands) daemons_.push_back(daemon{std::move(c), std::nullopt, {}});
}

attach_daemons::~attach_daemons() { stop(); }

void attach_daemons::spawn(daemon& d) {
  std::string error;
  d.spawned = std::chrono::steady_clock::now();
  d.proc = spawn_detached(d.command, env_, error);
  if (!d.proc)
    os::log("legion '", legion_, "': cannot start attach daemon \"", d.command, "\": ", error);
  else
    os::log("legion '", legion_, "': started attach daemon \"", d.command, "\" (pid ", d.proc->pid,
            ")");
}

void attach_daemons::start(const std::vector<std::string>& env) {
  if (started_ || daemons_.empty()) return;
  started_ = true;
  env_ = env;
  for (daemon& d : daemons_) spawn(d);
}

void attach_daemons::check() {
  if (!started_) return;
  const auto now = std::chrono::steady_clock::now();
  for (daemon& d : daemons_) {
    if (d.proc && !wait_exit(*d.proc, std::chrono::milliseconds(0))) continue;
    if (now - d.spawned < respawn_every) continue;
    if (d.proc)
      os::log("legion '", legion_, "': attach daemon \"", d.command, "\" (pid ", d.proc->pid,
              ") died, respawning it");
    spawn(d);
  }
}

void attach_daemons::stop() {
  if (!started_) return;
  started_ = false;
  for (daemon& d : daemons_)
    if (d.proc) signal_group(*d.proc, SIGTERM);
  for (daemon& d : daemons_) {
    if (!d.proc) continue;
    if (!wait_exit(*d.proc, stop_mercy)) {
      signal_group(*d.proc, SIGKILL);
      wait_exit(*d.proc, stop_mercy);
    }
    os::log("legion '", legion_, "': stopped attach daemon \"", d.command, "\" (pid ", d.proc->pid,
            ")");
    d.proc.reset();
  }
}

}  // namespace brood::legion
