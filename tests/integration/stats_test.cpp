// The node's stats server on real processes: `--stats PATH` (unix) and `--stats HOST:PORT` serve
// uWSGI's stats JSON, one document per connection; the counters follow the requests served.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "brood/client/client.hpp"
#include "brood/os/address.hpp"
#include "brood/os/unique_fd.hpp"
#include "node_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono;
using json = nlohmann::json;
using wire::value;

// Connects to the stats address (unix path, or HOST:PORT) and reads until the server closes.
// Empty on any failure or after `timeout`.
std::string read_stats(const std::string& address, milliseconds timeout = 2s) {
  raw_socket s(address);
  return s.connected() ? s.read_to_eof(timeout).value_or("") : "";
}

class stats_test : public node_fixture {
 protected:
  // Starts a node with `extra` options plus "--stats <stats>"; returns the node's address and
  // sets stats_ to the stats address as bound (from the log).
  std::string start_with_stats(const std::string& stats, std::vector<std::string> extra) {
    extra.push_back("--stats");
    extra.push_back(stats);
    std::string address = start_node(extra);
    auto line = node().wait_for_line(std::regex("Stats server enabled on (\\S+) fd"), 5s);
    EXPECT_TRUE(line) << node().all_output();
    if (line) stats_ = (*line)[1].str();
    return address;
  }

  // Reads stats documents until `done` holds for one (returned), or 5 s passed (the last read).
  json stats_until(const std::function<bool(const json&)>& done) {
    json doc;
    eventually(
        [&] {
          doc = json::parse(read_stats(stats_), nullptr, false);
          return !doc.is_discarded() && done(doc);
        },
        5s, 20ms);
    return doc;
  }

  static std::uint64_t total_requests(const json& doc) {
    std::uint64_t n = 0;
    for (const json& w : doc["workers"]) n += w["requests"].get<std::uint64_t>();
    return n;
  }

  temp_dir dir_{"brood-stats-"};  // a private directory for unix socket paths
  std::string stats_;
};

TEST_F(stats_test, UnixSocketCountsEveryRequest) {
  const std::string path = dir_ / "stats.sock";
  const std::string address = start_with_stats(path, {"--processes", "2"});
  ASSERT_EQ(stats_, path);
  constexpr int pings = 10;
  constexpr int echoes = 10;
  for (int i = 0; i < pings; ++i) ASSERT_TRUE(client::ping(address, 2s)) << i;
  for (int i = 0; i < echoes; ++i) ASSERT_TRUE(fresh_echo(address, value(i), 2s)) << i;

  // A worker is accepting from its first accept turn on, which may come after "node ready".
  const json doc = stats_until([](const json& d) {
    for (const json& w : d["workers"])
      if (w["accepting"] != 1) return false;
    return total_requests(d) == pings + echoes;
  });
  ASSERT_FALSE(doc.is_discarded()) << node().all_output();
  EXPECT_EQ(total_requests(doc), static_cast<std::uint64_t>(pings + echoes)) << doc.dump(1);
  EXPECT_EQ(doc["pid"].get<pid_t>(), node().pid());
  EXPECT_TRUE(doc["version"].is_string());
  ASSERT_EQ(doc["sockets"].size(), 1u);
  EXPECT_EQ(doc["sockets"][0]["name"], address);
  EXPECT_FALSE(doc.contains("spoolers"));
  ASSERT_EQ(doc["workers"].size(), 2u);
  std::set<pid_t> pids;
  std::uint64_t tx = 0;
  for (const json& w : doc["workers"]) {
    pids.insert(w["pid"].get<pid_t>());
    tx += w["tx"].get<std::uint64_t>();
    EXPECT_EQ(w["status"], "idle");
    EXPECT_EQ(w["accepting"], 1);
    EXPECT_EQ(w["respawn_count"], 1);
    EXPECT_GT(w["last_spawn"].get<std::int64_t>(), 0);
    EXPECT_GT(w["rss"].get<std::uint64_t>(), 0u);
    EXPECT_EQ(w["exceptions"], 0);
    EXPECT_EQ(w["cores"][0]["req_info"], json::object());
  }
  const auto logged = node().worker_pids();
  EXPECT_EQ(pids, std::set<pid_t>(logged.begin(), logged.end()));
  EXPECT_GT(tx, 0u);

  node().signal(SIGTERM);
  ASSERT_TRUE(node().wait_exit(10s));
  EXPECT_FALSE(std::filesystem::exists(path));  // the master removed its socket file
}

TEST_F(stats_test, TcpOnEphemeralPortCountsFailures) {
  const std::string address = start_with_stats("127.0.0.1:0", {});
  ASSERT_TRUE(stats_.starts_with("127.0.0.1:")) << stats_;
  ASSERT_NE(stats_, "127.0.0.1:0");
  // modifier2 50 is no job of primes_node: its handler throws, the call fails remotely.
  auto failed = client::send_message(address, 33, 50, value(1), 2s);
  EXPECT_FALSE(failed.has_value());
  ASSERT_TRUE(fresh_echo(address, value("x"), 2s));
  const json doc = stats_until([](const json& d) { return total_requests(d) == 2; });
  ASSERT_EQ(total_requests(doc), 2u) << doc.dump(1);
  EXPECT_EQ(doc["workers"][0]["exceptions"], 1);
  EXPECT_EQ(doc["workers"][0]["pid"].get<pid_t>(), node().worker_pids().at(0));
}

TEST_F(stats_test, BusyWorkerShowsItsRequest) {
  const std::string path = dir_ / "stats.sock";
  const std::string address = start_with_stats(path, {"--processes", "1"});
  std::thread caller([&] {
    raw_socket s(address);
    if (s.send(message_packet(98, value(wire::map{{value("ms"), value(1000)}})))) s.read_packet(5s);
  });
  const json busy = stats_until([](const json& d) { return d["workers"][0]["status"] == "busy"; });
  const auto now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  EXPECT_EQ(busy["workers"][0]["status"], "busy") << busy.dump(1);
  const json& core = busy["workers"][0]["cores"][0];
  EXPECT_EQ(core["in_request"], 1);
  EXPECT_NEAR(core["req_info"]["request_start"].get<double>(), static_cast<double>(now), 5.0);
  caller.join();
  const json idle = stats_until([](const json& d) { return total_requests(d) == 1; });
  EXPECT_EQ(idle["workers"][0]["status"], "idle") << idle.dump(1);
  EXPECT_GE(idle["workers"][0]["running_time"].get<std::uint64_t>(), 900000u);
  EXPECT_GE(idle["workers"][0]["avg_rt"].get<std::uint64_t>(), 900000u);
}

TEST_F(stats_test, RespawnedWorkerIsCounted) {
  const std::string path = dir_ / "stats.sock";
  start_with_stats(path, {"--processes", "1"});
  const pid_t first = node().worker_pids().at(0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  const json doc = stats_until([&](const json& d) {
    const json& w = d["workers"][0];
    return w["respawn_count"] == 2 && w["pid"].get<pid_t>() != first && w["pid"] != 0;
  });
  const json& w = doc["workers"][0];
  EXPECT_EQ(w["respawn_count"], 2) << doc.dump(1);
  EXPECT_NE(w["pid"].get<pid_t>(), first);
  EXPECT_EQ(w["status"], "idle");
}

}  // namespace
}  // namespace brood::testing
