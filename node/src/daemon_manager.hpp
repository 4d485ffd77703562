#pragma once
// attach-daemon: the commands the master keeps running beside its workers. Each runs with
// /bin/sh -c in its own session; when one dies it is respawned, at once if it ran for at least
// min_run, else after a delay that doubles (1 s, 2 s, ... max_delay) while it keeps dying fast.
// When the node stops, stop() sends SIGTERM to each (no respawn after). Log lines as uWSGI's:
//   [uwsgi-daemons] spawning "CMD" (uid: U gid: G)
//   [uwsgi-daemons] respawning "CMD" (uid: U gid: G)
//   [uwsgi-daemons] stopping daemon (pid: P): CMD
// smart-attach-daemon PIDFILE CMD: CMD starts a daemon that detaches and writes its pid to
// PIDFILE. The master does not respawn when the command itself exits; it reads PIDFILE every
// second and runs CMD again (with the same throttle) when no live process has that pid. A daemon
// already running at start (a live pid in PIDFILE) is adopted, not started. stop() sends SIGTERM
// to the pid in PIDFILE.
// A state machine over daemon_launcher (tests use a fake); not thread-safe.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace brood::node {

class daemon_launcher {
 public:
  virtual ~daemon_launcher() = default;
  // Starts `command`; its pid, or -1 (logged) when it cannot be started.
  virtual pid_t spawn(const std::string& command) = 0;
  virtual void signal(pid_t pid, int signo) = 0;
  // The live process whose pid PIDFILE holds, or 0 (no file, no number, no such process).
  virtual pid_t live_pid_in(const std::string& pidfile) = 0;
};

// One attach-daemon (pidfile empty) or smart-attach-daemon.
struct daemon_spec {
  std::string command;
  std::string pidfile;
};

class daemon_manager {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds min_run{1};
  static constexpr std::chrono::seconds max_delay{30};
  static constexpr std::chrono::seconds pidfile_check{1};

  daemon_manager(std::vector<daemon_spec> daemons, daemon_launcher& launcher);

  // Spawns every daemon.
  void start(clock::time_point now);
  // A child exited: true when it was one of the daemons (then it is respawned or scheduled).
  bool on_exit(pid_t pid, clock::time_point now);
  // Respawns the daemons whose delay is over, and the smart daemons found dead.
  void on_tick(clock::time_point now);
  // The earliest scheduled respawn or pidfile check, if any.
  std::optional<clock::time_point> next_deadline() const;
  // SIGTERM to every running daemon; none is respawned any more. Returns their pids.
  std::vector<pid_t> stop();
  bool empty() const noexcept { return daemons_.empty(); }

 private:
  struct daemon {
    std::string command;
    std::string pidfile;                          // smart-attach-daemon only
    pid_t pid = 0;                                // the spawned command; 0: not running
    clock::time_point started;                    // of the running one
    std::chrono::seconds delay{0};                // the next fast death waits this long
    std::optional<clock::time_point> respawn_at;  // scheduled respawn
  };
  void spawn(daemon& d, clock::time_point now, bool again);
  // A spawn failed or the daemon died fast: the next try waits longer.
  void delay_respawn(daemon& d, clock::time_point now);
  void check_pidfile(daemon& d, clock::time_point now);

  std::vector<daemon> daemons_;
  daemon_launcher& launcher_;
  bool stopped_ = false;
  std::optional<clock::time_point> next_check_;  // with smart daemons
};

// The launcher of the real master: spawn_shell in a new session.
class os_daemon_launcher : public daemon_launcher {
 public:
  pid_t spawn(const std::string& command) override;
  void signal(pid_t pid, int signo) override;
  pid_t live_pid_in(const std::string& pidfile) override;
};

}  // namespace brood::node
