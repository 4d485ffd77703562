#pragma once
// The emperor_core test fixture: fakes of the emperor's OS boundary (launcher.hpp) that record
// what the core asked (launches, bytes sent, signals, listens, arming) and never touch the OS,
// and fake moments (seconds after an arbitrary start).
#include <sys/types.h>

#include <fcntl.h>
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

#include "brood/emperor/core.hpp"
#include "brood/emperor/launcher.hpp"

namespace brood::emperor::testing {

struct launcher_record {
  std::vector<launch_spec> launches;
  std::vector<pid_t> pids;                           // pid of each successful launch, in order
  std::map<pid_t, std::vector<std::uint8_t>> sends;  // bytes sent per pid
  std::vector<std::pair<pid_t, int>> signals;
  std::vector<std::string> listens;      // "name address" per listen() call
  std::map<std::string, bool> armed;     // by vassal name
  std::map<std::string, int> socket_fd;  // by vassal name
  // Fork server: what adopt() was asked ("SERVER" per call, with the spec and inherited count).
  std::vector<std::string> adopts;
  std::vector<launch_spec> adopt_specs;
  std::vector<std::size_t> adopt_inherited;
  std::vector<pid_t> adopted_pids;      // pid of each successful adoption, in order
  std::size_t sockets_per_process = 2;  // listening_sockets() of a fake process
  std::string sockets_error;            // non-empty: listening_sockets() fails with it
};

class fake_process : public vassal_process {
 public:
  fake_process(pid_t pid, launcher_record& r) : pid_(pid), r_(r) {}
  pid_t pid() const noexcept override { return pid_; }
  bool send(wire::emperor_command c) noexcept override {
    r_.sends[pid_].push_back(wire::to_byte(c));
    return true;
  }
  void signal(int signo) noexcept override { r_.signals.emplace_back(pid_, signo); }
  std::vector<os::unique_fd> listening_sockets(std::string& error) override {
    error = r_.sockets_error;
    std::vector<os::unique_fd> out;
    if (!error.empty()) return out;
    for (std::size_t i = 0; i < r_.sockets_per_process; ++i)
      out.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    return out;
  }

 private:
  pid_t pid_;
  launcher_record& r_;
};

class fake_socket : public on_demand_socket {
 public:
  fake_socket(std::string name, std::string address, int fd, launcher_record& r)
      : name_(std::move(name)), address_(std::move(address)), fd_(fd), r_(r) {}
  ~fake_socket() override { r_.armed.erase(name_); }
  int fd() const noexcept override { return fd_; }
  const std::string& address() const noexcept override { return address_; }
  void arm(bool armed) noexcept override { r_.armed[name_] = armed; }

 private:
  std::string name_, address_;
  int fd_;
  launcher_record& r_;
};

class fake_launcher : public process_launcher {
 public:
  launcher_record r;
  bool fail_launch = false;
  bool fail_listen = false;
  std::string adopt_error;     // non-empty: adopt() fails with it
  bool adopt_timeout = false;  // the failure is a timeout

  adopt_result adopt(const launch_spec& spec, const std::string& fork_server,
                     std::span<const int> inherited) override {
    r.adopts.push_back(fork_server);
    r.adopt_specs.push_back(spec);
    r.adopt_inherited.push_back(inherited.size());
    if (!adopt_error.empty()) return {nullptr, adopt_error, adopt_timeout};
    const pid_t pid = next_pid_++;
    r.adopted_pids.push_back(pid);
    return {std::make_unique<fake_process>(pid, r), {}};
  }

  std::unique_ptr<vassal_process> launch(const launch_spec& spec, std::error_code& ec) override {
    r.launches.push_back(spec);
    if (fail_launch) {
      ec = std::make_error_code(std::errc::resource_unavailable_try_again);
      return nullptr;
    }
    const pid_t pid = next_pid_++;
    r.pids.push_back(pid);
    return std::make_unique<fake_process>(pid, r);
  }
  std::unique_ptr<on_demand_socket> listen(const std::string& name, const std::string& address,
                                           std::error_code& ec) override {
    r.listens.push_back(name + " " + address);
    if (fail_listen) {
      ec = std::make_error_code(std::errc::address_in_use);
      return nullptr;
    }
    const int fd = next_fd_++;
    r.socket_fd[name] = fd;
    r.armed[name] = false;
    return std::make_unique<fake_socket>(name, address, fd, r);
  }

 private:
  pid_t next_pid_ = 1000;
  int next_fd_ = 40;
};

// Wait statuses as waitpid(2) reports them.
inline int exited(int code) { return (code & 0xff) << 8; }
inline int killed(int signo) { return signo & 0x7f; }

class core_fixture : public ::testing::Test {
 protected:
  using time_point = std::chrono::steady_clock::time_point;

  fake_launcher launcher;
  launcher_record& rec = launcher.r;
  std::unique_ptr<emperor_core> core;

  // REQUIRES: called before the first event; `cfg` is what the test needs.
  void make_core(emperor_config cfg) {
    core = std::make_unique<emperor_core>(std::move(cfg), launcher, "/usr/bin/brood",
                                          std::vector<std::string>{"PATH=/bin"});
  }
  void SetUp() override {
    emperor_config cfg;
    cfg.sources = {"/etc/vassals"};
    make_core(cfg);
  }

  // The moment `s` seconds (fractions allowed) after the start.
  static moment at(double s) {
    const auto d = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
    return {start() + d, static_cast<std::time_t>(1700000000 + s)};
  }
  static time_point start() { return time_point{} + std::chrono::hours(1000); }
  static time_point mono(double s) { return at(s).mono; }

  static vassal_file file(const std::string& name, std::time_t mtime = 1,
                          const std::string& on_demand = "") {
    return {name, "/etc/vassals/" + name, "/etc/vassals", mtime, on_demand};
  }
  void add(const vassal_file& f, double t) { core->on_scan({{f}, {}, {}}, at(t)); }
  void change(const vassal_file& f, double t) { core->on_scan({{}, {f}, {}}, at(t)); }
  void remove(const std::string& name, double t) { core->on_scan({{}, {}, {name}}, at(t)); }
  void message(pid_t pid, wire::vassal_message m, double t) {
    core->on_message(pid, wire::to_byte(m), at(t));
  }

  const vassal& v(const std::string& name) const { return core->vassals().at(name); }
  pid_t pid_of(const std::string& name) const {
    const auto& p = v(name).process;
    return p ? p->pid() : -1;
  }
  std::vector<std::uint8_t> sent(pid_t pid) const {
    const auto it = rec.sends.find(pid);
    return it == rec.sends.end() ? std::vector<std::uint8_t>{} : it->second;
  }
  bool killed_with_sigkill(pid_t pid) const {
    for (const auto& [p, s] : rec.signals)
      if (p == pid && s == SIGKILL) return true;
    return false;
  }
};

}  // namespace brood::emperor::testing
