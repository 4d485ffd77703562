// The stats document (node/src/stats_json.cpp): uWSGI's keys in uWSGI's order with uWSGI's
// types (docs/uwsgi-compat.md §11), and the scoreboard a worker records into
// (node/src/scoreboard.cpp).
#include <unistd.h>
#include <ctime>

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "scoreboard.hpp"
#include "stats_json.hpp"

namespace brood::node {
namespace {

using json = nlohmann::ordered_json;

std::vector<std::string> keys_of(const json& object) {
  std::vector<std::string> keys;
  for (auto it = object.begin(); it != object.end(); ++it) keys.push_back(it.key());
  return keys;
}

class stats_json_test : public ::testing::Test {
 protected:
  stats_json_test() {
    stats_.version = "0.1.0";
    stats_.pid = 1234;
    stats_.cwd = "/srv";
    stats_.sockets.push_back({"127.0.0.1:3031", "uwsgi", 2, 100});
    worker_stats idle;
    idle.id = 1;
    idle.pid = 2001;
    idle.accepting = true;
    idle.requests = 10;
    idle.running_time = 5000;
    idle.avg_rt = 500;
    idle.tx = 40;
    worker_stats busy = idle;
    busy.id = 2;
    busy.busy = true;
    busy.request_start = 1700000000;
    stats_.workers = {idle, busy};
  }
  json parsed() const { return json::parse(stats_json(stats_)); }

  node_stats stats_;
};

TEST_F(stats_json_test, TopLevelKeysInUwsgiOrder) {
  const json doc = parsed();
  EXPECT_EQ(keys_of(doc), (std::vector<std::string>{
                              "version", "listen_queue", "listen_queue_errors", "signal_queue",
                              "load", "pid", "uid", "gid", "cwd", "locks", "sockets", "workers"}));
  EXPECT_TRUE(doc["version"].is_string());
  for (const char* key :
       {"listen_queue", "listen_queue_errors", "signal_queue", "load", "pid", "uid", "gid"})
    EXPECT_TRUE(doc[key].is_number_integer()) << key;
  EXPECT_EQ(doc["pid"], 1234);
  EXPECT_EQ(doc["cwd"], "/srv");
  EXPECT_TRUE(doc["locks"].is_array());
}

TEST_F(stats_json_test, SpoolersOnlyWhenThereAreSome) {
  stats_.spoolers.push_back({"/var/spool/a", 3001, 7, 1, true, 4, 2, 9, 3, 2, 5});
  const json doc = parsed();
  EXPECT_EQ(keys_of(doc).back(), "spoolers");
  const json& sp = doc["spoolers"].at(0);
  EXPECT_EQ(keys_of(sp),
            (std::vector<std::string>{"dir", "pid", "tasks", "respawns", "running", "log"}));
  EXPECT_EQ(sp["log"]["segments"], 4);
  EXPECT_EQ(sp["log"]["pending"], 2);
  EXPECT_EQ(sp["log"]["tasks"], 9);
  EXPECT_EQ(sp["log"]["commits"], 3);
  EXPECT_EQ(sp["log"]["last_batch"], 2);
  EXPECT_EQ(sp["log"]["max_batch"], 5);
  EXPECT_EQ(sp["dir"], "/var/spool/a");
  EXPECT_EQ(sp["tasks"], 7);
  EXPECT_EQ(sp["running"], 1);
}

TEST_F(stats_json_test, SubscriptionsLastAndOnlyWhenThereAreSome) {
  EXPECT_FALSE(parsed().contains("subscriptions"));
  stats_.subscriptions.push_back({"127.0.0.1:4040", "foobar.it", "127.0.0.1:40309", true});
  const json doc = parsed();
  EXPECT_EQ(keys_of(doc).back(), "subscriptions");
  const json& t = doc["subscriptions"].at(0);
  EXPECT_EQ(keys_of(t), (std::vector<std::string>{"server", "key", "address", "blocked"}));
  EXPECT_EQ(t["server"], "127.0.0.1:4040");
  EXPECT_EQ(t["key"], "foobar.it");
  EXPECT_EQ(t["address"], "127.0.0.1:40309");
  EXPECT_EQ(t["blocked"], 1);
}

TEST_F(stats_json_test, SocketKeys) {
  const json doc = parsed();
  const json& s = doc["sockets"].at(0);
  EXPECT_EQ(keys_of(s), (std::vector<std::string>{"name", "proto", "queue", "max_queue", "shared",
                                                  "can_offload"}));
  EXPECT_EQ(s["name"], "127.0.0.1:3031");
  EXPECT_EQ(s["proto"], "uwsgi");
  EXPECT_EQ(s["queue"], 2);
  EXPECT_EQ(s["max_queue"], 100);
}

TEST_F(stats_json_test, WorkerKeysAndTypes) {
  const json doc = parsed();
  const json& w = doc["workers"].at(0);
  EXPECT_EQ(keys_of(w),
            (std::vector<std::string>{"id", "pid", "accepting", "requests", "delta_requests",
                                      "exceptions", "harakiri_count", "signals", "signal_queue",
                                      "status", "rss", "vsz", "running_time", "last_spawn",
                                      "respawn_count", "tx", "avg_rt", "apps", "cores"}));
  for (const auto& [key, value] : w.items()) {
    if (key == "status") {
      EXPECT_TRUE(value.is_string());
    } else if (key == "apps" || key == "cores") {
      EXPECT_TRUE(value.is_array()) << key;
    } else {
      EXPECT_TRUE(value.is_number_integer()) << key;
    }
  }
  EXPECT_EQ(w["id"], 1);
  EXPECT_EQ(w["accepting"], 1);
  EXPECT_EQ(w["status"], "idle");
  EXPECT_EQ(w["avg_rt"], 500);
  EXPECT_EQ(w["cores"].size(), 1u);
}

TEST_F(stats_json_test, CoreKeysAndRequestInfo) {
  const json doc = parsed();
  const json& idle = doc["workers"].at(0)["cores"].at(0);
  EXPECT_EQ(keys_of(idle),
            (std::vector<std::string>{"id", "requests", "static_requests", "routed_requests",
                                      "offloaded_requests", "write_errors", "read_errors",
                                      "in_request", "vars", "req_info"}));
  EXPECT_EQ(idle["vars"], json::array({""}));  // terminated by an empty string
  EXPECT_TRUE(idle["req_info"].is_object());
  EXPECT_TRUE(idle["req_info"].empty());
  EXPECT_EQ(idle["in_request"], 0);
  const json& busy_worker = doc["workers"].at(1);
  EXPECT_EQ(busy_worker["status"], "busy");
  const json& busy = busy_worker["cores"].at(0);
  EXPECT_EQ(busy["in_request"], 1);
  EXPECT_EQ(busy["req_info"], json({{"request_start", 1700000000}}));
}

TEST_F(stats_json_test, InvalidUtf8IsReplacedNotThrown) {
  stats_.cwd = std::string("/srv/\xff");
  EXPECT_NO_THROW(parsed());
}

// ---- scoreboard --------------------------------------------------------------------------

class scoreboard_test : public ::testing::Test {
 protected:
  scoreboard board_{2};
};

TEST_F(scoreboard_test, NoSlotNoRecording) {
  slot_recorder none;  // this process has not claimed a slot
  EXPECT_EQ(none.request_started(), 0);
  none.request_ended(0, 10, true, true);
  EXPECT_EQ(board_.at(1).requests.load(), 0u);
}

TEST_F(scoreboard_test, SpawnAndExitAreCounted) {
  board_.record_spawn(1, 4242, std::time(nullptr));
  board_.record_spawn(1, 4243, std::time(nullptr));
  EXPECT_EQ(board_.at(1).pid.load(), 4243);
  EXPECT_EQ(board_.at(1).respawn_count.load(), 2u);
  EXPECT_GT(board_.at(1).last_spawn.load(), 1600000000);
  board_.record_exit(1, 4242);  // an older worker: the slot is the newer one's
  EXPECT_EQ(board_.at(1).pid.load(), 4243);
  board_.record_exit(1, 4243);
  EXPECT_EQ(board_.at(1).pid.load(), 0);
}

TEST_F(scoreboard_test, OwnerRecordsRequests) {
  board_.claim(2);
  ASSERT_EQ(current_worker_slot(), &board_.at(2));
  slot_recorder rec;
  rec.set_accepting(true);
  const std::int64_t start = rec.request_started();
  EXPECT_GT(start, 0);
  const scoreboard::slot& s = board_.at(2);
  EXPECT_EQ(s.in_request.load(), 1);
  EXPECT_EQ(s.accepting.load(), 1u);
  EXPECT_EQ(s.request_start_us.load(), start);
  rec.request_ended(start - 1500, 64, true, false);
  rec.request_ended(rec.request_started(), 8, false, true);
  rec.read_failed();
  EXPECT_EQ(s.in_request.load(), 0);
  EXPECT_EQ(s.requests.load(), 2u);
  EXPECT_EQ(s.tx.load(), 72u);
  EXPECT_EQ(s.exceptions.load(), 1u);
  EXPECT_EQ(s.write_errors.load(), 1u);
  EXPECT_EQ(s.read_errors.load(), 1u);
  EXPECT_GE(s.running_us.load(), 1500u);
  EXPECT_EQ(board_.at(1).requests.load(), 0u);
}

TEST_F(scoreboard_test, NonOwnerCountsButLeavesRequestState) {
  board_.claim(1);
  slot_recorder rec;
  board_.record_spawn(1, ::getpid() + 1, std::time(nullptr));  // a newer worker took the slot
  const std::int64_t start = rec.request_started();
  rec.set_accepting(true);
  EXPECT_EQ(board_.at(1).in_request.load(), 0);
  EXPECT_EQ(board_.at(1).accepting.load(), 0u);
  rec.request_ended(start, 5, false, false);
  EXPECT_EQ(board_.at(1).requests.load(), 1u);
  EXPECT_EQ(board_.at(1).in_request.load(), 0);
}

TEST(scoreboard_lifetime_test, DestroyedBoardIsNoLongerCurrent) {
  {
    scoreboard board(1);
    board.claim(1);
    EXPECT_NE(current_worker_slot(), nullptr);
  }
  EXPECT_EQ(current_worker_slot(), nullptr);
}

}  // namespace
}  // namespace brood::node
