#pragma once
// The master_core test fixture: a fake of the master's OS boundary (master_launcher.hpp) that
// records what the core asked (spawns, signals, spooler exits, bytes to the emperor), in one
// ordered list as well, and never touches the OS; a real scoreboard (anonymous memory only);
// fake moments (seconds after an arbitrary start).
#include <sys/types.h>

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "master_core.hpp"
#include "master_launcher.hpp"
#include "scoreboard.hpp"

namespace brood::node::testing {

struct spawn_record {
  bool worker = true;     // else a spooler process
  std::size_t which = 0;  // worker id (1-based) or spooler slot (0-based)
  unsigned generation = 0;
  pid_t pid = -1;  // -1: the fork failed
};

class fake_launcher : public master_launcher {
 public:
  std::vector<spawn_record> spawns;
  std::vector<std::pair<pid_t, int>> signals;
  std::vector<std::size_t> spooler_exits;
  std::vector<std::uint8_t> emperor;  // bytes sent
  // Everything in order: "worker 1 gen 0 -> 1000", "spooler 0 -> 1001", "signal 1000 15",
  // "emperor 1".
  std::vector<std::string> events;
  bool fail_fork = false;
  std::map<std::size_t, time_point> deadlines;  // harakiri deadline per spooler slot
  bool vassal = false;                          // has_emperor()
  std::uint64_t backlog = 0;                    // listen_backlog()
  std::map<pid_t, std::uint64_t> rss;           // worker_rss()
  std::map<pid_t, std::uint64_t> vsz;           // worker_vsz()
  bool waiting_for_connection = false;          // wait_for_connection()

  pid_t spawn_worker(unsigned id, unsigned generation, std::error_code& ec) override {
    const pid_t pid = next(ec);
    spawns.push_back({true, id, generation, pid});
    events.push_back("worker " + std::to_string(id) + " gen " + std::to_string(generation) +
                     " -> " + std::to_string(pid));
    return pid;
  }
  pid_t spawn_spooler(std::size_t slot, std::error_code& ec) override {
    const pid_t pid = next(ec);
    spawns.push_back({false, slot, 0, pid});
    events.push_back("spooler " + std::to_string(slot) + " -> " + std::to_string(pid));
    return pid;
  }
  void signal(pid_t pid, int signo) noexcept override {
    signals.emplace_back(pid, signo);
    events.push_back("signal " + std::to_string(pid) + " " + std::to_string(signo));
  }
  void spooler_exited(std::size_t slot) noexcept override {
    spooler_exits.push_back(slot);
    deadlines.erase(slot);
  }
  std::optional<time_point> spooler_deadline(std::size_t slot) const noexcept override {
    const auto it = deadlines.find(slot);
    if (it == deadlines.end()) return std::nullopt;
    return it->second;
  }
  std::string spooler_dir(std::size_t slot) const override {
    return "/spool/" + std::to_string(slot);
  }
  std::string spooler_task(std::size_t slot) const override {
    return "task-" + std::to_string(slot);
  }
  void tell_emperor(wire::vassal_message m) noexcept override {
    emperor.push_back(wire::to_byte(m));
    events.push_back("emperor " + std::to_string(wire::to_byte(m)));
  }
  bool has_emperor() const noexcept override { return vassal; }
  std::uint64_t listen_backlog() noexcept override { return backlog; }
  std::uint64_t worker_rss(pid_t pid) noexcept override {
    const auto it = rss.find(pid);
    return it == rss.end() ? 0 : it->second;
  }
  std::uint64_t worker_vsz(pid_t pid) noexcept override {
    const auto it = vsz.find(pid);
    return it == vsz.end() ? 0 : it->second;
  }
  std::string stuck_details(pid_t pid) override { return "stuck " + std::to_string(pid); }
  void wait_for_connection(bool on) override {
    waiting_for_connection = on;
    events.push_back(on ? "wait for connection" : "stop waiting");
  }
  std::vector<bool> subscriptions;  // send_subscriptions(): true for a withdrawal round
  void send_subscriptions(bool unsubscribe) noexcept override {
    subscriptions.push_back(unsubscribe);
    events.push_back(unsubscribe ? "unsubscribe" : "subscribe");
  }

 private:
  pid_t next(std::error_code& ec) {
    if (!fail_fork) return next_pid_++;
    ec = std::make_error_code(std::errc::resource_unavailable_try_again);
    return -1;
  }
  pid_t next_pid_ = 1000;
};

// Wait statuses as waitpid(2) reports them.
inline int exited(int code) { return (code & 0xff) << 8; }
inline int killed(int signo) { return signo & 0x7f; }

class master_core_fixture : public ::testing::Test {
 protected:
  using time_point = std::chrono::steady_clock::time_point;

  fake_launcher launcher;
  std::unique_ptr<scoreboard> board;
  std::unique_ptr<master_core> core;

  // REQUIRES: called before the first event.
  void make_core(master_core_config cfg) {
    core.reset();
    board = std::make_unique<scoreboard>(std::max(1u, cfg.workers));
    core = std::make_unique<master_core>(cfg, launcher, *board);
  }
  static master_core_config config(unsigned workers, std::size_t spoolers = 0) {
    master_core_config cfg;
    cfg.workers = workers;
    cfg.spoolers = spoolers;
    cfg.reload_mercy = std::chrono::seconds(10);
    return cfg;
  }
  // A core with `workers` workers and `spoolers` spooler processes, started at 0.
  void start(unsigned workers, std::size_t spoolers = 0) {
    make_core(config(workers, spoolers));
    start_core(0);
  }
  void start_core(double t) {
    core->start_spoolers(at(t));
    core->start_workers(at(t));
  }

  // The moment `s` seconds (fractions allowed) after the start.
  static moment at(double s) {
    const auto d = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
    return {origin() + d, static_cast<std::time_t>(1700000000 + s),
            static_cast<std::int64_t>((1700000000 + s) * 1e6)};
  }
  static time_point origin() { return time_point{} + std::chrono::hours(1000); }
  static time_point mono(double s) { return at(s).mono; }

  pid_t worker(unsigned id) const { return core->workers().at(id - 1).pid; }
  pid_t spooler(std::size_t slot) const { return core->spoolers().at(slot).pid; }
  void exit(pid_t pid, int status, double t) { EXPECT_TRUE(core->on_exit(pid, status, at(t))); }
  void tick(double t) { core->on_tick(at(t)); }

  std::size_t spawn_count() const { return launcher.spawns.size(); }
  std::size_t worker_spawns() const { return count_spawns(true); }
  std::size_t spooler_spawns() const { return count_spawns(false); }
  std::vector<int> signals_to(pid_t pid) const {
    std::vector<int> out;
    for (const auto& [p, s] : launcher.signals)
      if (p == pid) out.push_back(s);
    return out;
  }
  bool got(pid_t pid, int signo) const {
    for (int s : signals_to(pid))
      if (s == signo) return true;
    return false;
  }
  // The position of `event` in launcher.events (events.size() when absent).
  std::size_t position(const std::string& event) const {
    std::size_t i = 0;
    while (i < launcher.events.size() && launcher.events[i] != event) ++i;
    return i;
  }

 private:
  std::size_t count_spawns(bool workers) const {
    std::size_t n = 0;
    for (const auto& s : launcher.spawns)
      if (s.worker == workers && s.pid > 0) ++n;
    return n;
  }
};

}  // namespace brood::node::testing
