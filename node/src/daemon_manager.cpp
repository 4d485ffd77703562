#include "daemon_manager.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "brood/os/log.hpp"
#include "shell_command.hpp"

namespace brood::node {

daemon_manager::daemon_manager(std::vector<std::string> commands, daemon_launcher& launcher)
    : launcher_(launcher) {
  for (std::string& c : commands) daemons_.push_back({std::move(c)});
}

void daemon_manager::spawn(daemon& d, clock::time_point now, bool again) {
  os::log("[uwsgi-daemons] ", again ? "respawning" : "spawning", " \"", d.command,
          "\" (uid: ", ::getuid(), " gid: ", ::getgid(), ")");
  d.respawn_at.reset();
  d.started = now;
  const pid_t pid = launcher_.spawn(d.command);
  if (pid > 0) {
    d.pid = pid;
    return;
  }
  d.pid = 0;  // could not start: try again later
  d.delay = std::clamp(d.delay * 2, std::chrono::seconds(1), max_delay);
  d.respawn_at = now + d.delay;
}

void daemon_manager::start(clock::time_point now) {
  for (daemon& d : daemons_) spawn(d, now, false);
}

bool daemon_manager::on_exit(pid_t pid, clock::time_point now) {
  for (daemon& d : daemons_) {
    if (d.pid != pid || pid <= 0) continue;
    d.pid = 0;
    if (stopped_) return true;
    if (now - d.started >= min_run) {
      d.delay = std::chrono::seconds(0);
      spawn(d, now, true);
    } else {
      d.delay = std::clamp(d.delay * 2, std::chrono::seconds(1), max_delay);
      os::log("[uwsgi-daemons] \"", d.command, "\" died after less than ", min_run.count(),
              " s: respawning it in ", d.delay.count(), " s");
      d.respawn_at = now + d.delay;
    }
    return true;
  }
  return false;
}

void daemon_manager::on_tick(clock::time_point now) {
  if (stopped_) return;
  for (daemon& d : daemons_)
    if (d.respawn_at && *d.respawn_at <= now) spawn(d, now, true);
}

std::optional<daemon_manager::clock::time_point> daemon_manager::next_deadline() const {
  std::optional<clock::time_point> due;
  if (stopped_) return due;
  for (const daemon& d : daemons_)
    if (d.respawn_at && (!due || *d.respawn_at < *due)) due = d.respawn_at;
  return due;
}

std::vector<pid_t> daemon_manager::stop() {
  stopped_ = true;
  std::vector<pid_t> pids;
  for (daemon& d : daemons_) {
    d.respawn_at.reset();
    if (d.pid <= 0) continue;
    os::log("[uwsgi-daemons] stopping daemon (pid: ", d.pid, "): ", d.command);
    launcher_.signal(d.pid, SIGTERM);
    pids.push_back(d.pid);
  }
  return pids;
}

pid_t os_daemon_launcher::spawn(const std::string& command) {
  auto pid = spawn_shell(command, true);
  if (!pid) {
    os::log(pid.error().message());
    return -1;
  }
  return *pid;
}

void os_daemon_launcher::signal(pid_t pid, int signo) {
  // The daemon leads its own session: its whole process group gets the signal.
  if (::kill(-pid, signo) != 0) ::kill(pid, signo);
}

}  // namespace brood::node
