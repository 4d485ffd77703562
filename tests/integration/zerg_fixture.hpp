#pragma once
// Fixture for zerg mode on real processes: a master with a zerg server (brood's primes_node or
// uWSGI 2.0.21), zergs attached to it (brood or uWSGI), and the calls that tell who answered: a
// brood worker answers m2 99 with its pid, a uWSGI worker running zerg_app.py answers a WSGI
// request (modifier1 0) with "pid=PID". Every process is killed and reaped at the end.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "brood/wire/header.hpp"
#include "brood/wire/vars.hpp"
#include "eventually.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

namespace brood::testing {

inline constexpr const char* uwsgi_binary = "/usr/bin/uwsgi";

class zerg_fixture : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }
  void TearDown() override {
    procs_.clear();  // SIGKILL each group, reaped
    reap_all_children();
  }

  std::string server_path() const { return dir_.path() + "/zerg.sock"; }

  node_process& start(const char* binary, std::vector<std::string> args) {
    procs_.push_back(std::make_unique<node_process>(binary, std::move(args)));
    return *procs_.back();
  }
  // A brood master on 127.0.0.1:0 with a zerg server (and `extra`); its address.
  std::string start_brood_master(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--socket", "127.0.0.1:0", "--zerg-server", server_path()};
    args.insert(args.end(), extra.begin(), extra.end());
    node_process& m = start(BROOD_PRIMES_NODE, args);
    std::string address = m.wait_bound_address();
    EXPECT_FALSE(address.empty()) << m.all_output();
    EXPECT_TRUE(m.wait_ready()) << m.all_output();
    EXPECT_TRUE(m.wait_for("Zerg server enabled on")) << m.all_output();
    return address;
  }
  // A brood zerg attached to `path`; the address it logs as attached ("" when it did not).
  std::string start_brood_zerg(node_process*& zerg, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--zerg", server_path()};
    args.insert(args.end(), extra.begin(), extra.end());
    zerg = &start(BROOD_PRIMES_NODE, args);
    auto m = zerg->wait_for_line(
        std::regex(R"(uwsgi zerg socket 0 attached to INET address (\S+) fd \d+)"));
    if (!m) return "";
    EXPECT_TRUE(zerg->wait_ready()) << zerg->all_output();
    return (*m)[1];
  }

  // The pid in the answer to m2 99 on a fresh connection; 0 without one.
  static std::int64_t brood_pid(const std::string& address) {
    raw_socket s(address);
    if (!s.send(message_packet(99, wire::value(0)))) return 0;
    auto reply = s.read_packet(2s);
    if (!reply || reply->head.modifier1 != 33) return 0;
    auto v = reply_value(*reply);
    return v && v->is_integer() ? v->as_int64() : 0;
  }
  // The pid a uWSGI worker running zerg_app.py answers a WSGI request with; 0 without one.
  static std::int64_t uwsgi_pid(const std::string& address) {
    wire::bytes block;
    EXPECT_FALSE(wire::append_vars(block, {{"REQUEST_METHOD", "GET"},
                                           {"PATH_INFO", "/"},
                                           {"SERVER_PROTOCOL", "HTTP/1.0"},
                                           {"SERVER_NAME", "x"},
                                           {"SERVER_PORT", "80"}}));
    wire::bytes packet;
    EXPECT_FALSE(wire::append_packet(packet, 0, 0, block));
    raw_socket s(address);
    if (!s.send(packet)) return 0;
    const std::string text = s.read_to_eof(2s).value_or("");
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(R"(pid=(\d+))"))) return 0;
    return std::stoll(m[1]);
  }
  // Calls `pid_of(address)` until `pid` answers (the zerg shares the port with the master's own
  // workers); true when it did within `timeout`.
  template <class F>
  static bool answered_by(const std::string& address, std::int64_t pid, F pid_of,
                          std::chrono::milliseconds timeout = 10s) {
    return eventually([&] { return pid_of(address) == pid; }, timeout);
  }

  // A WSGI app file that answers "pid=PID" (for uWSGI).
  std::string write_app() {
    const std::string path = dir_.path() + "/zerg_app.py";
    std::ofstream(path) << "import os\n"
                           "def application(env, start_response):\n"
                           "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                           "    return [('pid=%d' % os.getpid()).encode()]\n";
    return path;
  }

  temp_dir dir_{"brood_zerg_"};
  std::vector<std::unique_ptr<node_process>> procs_;
};

}  // namespace brood::testing
