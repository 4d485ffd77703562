#include "daemon_manager.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "brood/os/log.hpp"
#include "shell_command.hpp"

namespace brood::node {

daemon_manager::daemon_manager(std::vector<daemon_spec> daemons, daemon_launcher& launcher)
    : launcher_(launcher) {
  for (daemon_spec& d : daemons) daemons_.push_back({std::move(d.command), std::move(d.pidfile)});
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
  delay_respawn(d, now);
}

void daemon_manager::delay_respawn(daemon& d, clock::time_point now) {
  d.delay = std::clamp(d.delay * 2, std::chrono::seconds(1), max_delay);
  d.respawn_at = now + d.delay;
}

void daemon_manager::start(clock::time_point now) {
  for (daemon& d : daemons_) {
    if (!d.pidfile.empty()) {
      next_check_ = now + pidfile_check;
      if (const pid_t live = launcher_.live_pid_in(d.pidfile); live > 0) {
        os::log("[uwsgi-daemons] found a running \"", d.command, "\" (pid: ", live, ")");
        d.started = now - min_run;
        continue;
      }
    }
    spawn(d, now, false);
  }
}

bool daemon_manager::on_exit(pid_t pid, clock::time_point now) {
  for (daemon& d : daemons_) {
    if (d.pid != pid || pid <= 0) continue;
    d.pid = 0;
    if (stopped_ || !d.pidfile.empty()) return true;  // a smart daemon's command ends at once
    if (now - d.started >= min_run) {
      d.delay = std::chrono::seconds(0);
      spawn(d, now, true);
    } else {
      delay_respawn(d, now);
      os::log("[uwsgi-daemons] \"", d.command, "\" died after less than ", min_run.count(),
              " s: respawning it in ", d.delay.count(), " s");
    }
    return true;
  }
  return false;
}

// A smart daemon whose command has ended and that has no live pid in its pidfile is respawned
// (after the throttle's delay when the previous one did not live min_run).
void daemon_manager::check_pidfile(daemon& d, clock::time_point now) {
  if (d.pid > 0 || d.respawn_at || launcher_.live_pid_in(d.pidfile) > 0) return;
  if (now - d.started >= min_run + pidfile_check) {
    d.delay = std::chrono::seconds(0);
    spawn(d, now, true);
  } else {
    delay_respawn(d, now);
  }
}

void daemon_manager::on_tick(clock::time_point now) {
  if (stopped_) return;
  for (daemon& d : daemons_)
    if (d.respawn_at && *d.respawn_at <= now) spawn(d, now, true);
  if (next_check_ && *next_check_ <= now) {
    next_check_ = now + pidfile_check;
    for (daemon& d : daemons_)
      if (!d.pidfile.empty()) check_pidfile(d, now);
  }
}

std::optional<daemon_manager::clock::time_point> daemon_manager::next_deadline() const {
  std::optional<clock::time_point> due;
  if (stopped_) return due;
  due = next_check_;
  for (const daemon& d : daemons_)
    if (d.respawn_at && (!due || *d.respawn_at < *due)) due = d.respawn_at;
  return due;
}

std::vector<pid_t> daemon_manager::stop() {
  stopped_ = true;
  next_check_.reset();
  std::vector<pid_t> pids;
  for (daemon& d : daemons_) {
    d.respawn_at.reset();
    // A smart daemon: the pid in its pidfile, and its command if that has not ended yet.
    const pid_t daemon_pid = d.pidfile.empty() ? 0 : launcher_.live_pid_in(d.pidfile);
    std::vector<pid_t> own;
    if (daemon_pid > 0) own.push_back(daemon_pid);
    if (d.pid > 0 && d.pid != daemon_pid) own.push_back(d.pid);
    for (pid_t pid : own) {
      os::log("[uwsgi-daemons] stopping daemon (pid: ", pid, "): ", d.command);
      launcher_.signal(pid, SIGTERM);
      pids.push_back(pid);
    }
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
  // A daemon we started leads its own session: its whole process group gets the signal.
  if (::kill(-pid, signo) != 0) ::kill(pid, signo);
}

pid_t os_daemon_launcher::live_pid_in(const std::string& pidfile) {
  std::ifstream in(pidfile);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM ? static_cast<pid_t>(pid) : 0;
}

}  // namespace brood::node
