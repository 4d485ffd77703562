// The task log on a real node (docs/spool_format.md §9): a remote enqueue (modifier1 17) is
// acknowledged once a group commit covers it; the node is SIGKILLed right after the last ack,
// the task files are removed (as a power cut may take unsynced files; the last ones may not have
// been written yet: the master writes them after its answer), and the restarted node's spooler
// writes every acknowledged task again before its first scan.
#include <array>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "brood/client/spool.hpp"
#include "spool_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono_literals;
using kv = std::pair<std::string, std::string>;

class spool_log_test : public spool_fixture {
 protected:
  std::string spool_dir() const { return dir_ / "spool"; }
};

TEST_F(spool_log_test, AcknowledgedTasksLostAtASigkillAreWrittenAgainAtRestart) {
  // The plain brood binary has no spooler function: its spooler keeps every task file.
  // Segments switched only when full: however slow this machine, the 40 records stay in the
  // active segment (not checkpointed: their files are not synced).
  const std::vector<std::string> args{
      "--spooler", spool_dir(), "--processes", "2", "--spooler-log-max-age", "0"};
  const std::string address = start_brood(args);
  std::set<std::string> acked;
  for (int i = 0; i < 40; ++i) {
    const std::string id = std::to_string(i);
    auto r = client::spool(address, {{"id", id}, {"priority", i % 5 == 0 ? "2" : "7"}}, {}, 5s);
    ASSERT_TRUE(r && *r) << (r ? "refused" : r.error().message) << "\n" << proc().all_output();
    acked.insert(id);
  }
  proc().kill_all();  // SIGKILL of the whole node right after the last ack
  ASSERT_TRUE(fs::exists(spool_dir() + "/.brood_log"));
  // The master writes a task's file after its answer: the last ones may never have been written.
  std::size_t removed = 0;
  for (const std::string sub : {"/2", "/7"})
    for (const std::string& name : task_files(spool_dir() + sub))
      removed += fs::remove(spool_dir() + sub + "/" + name);
  ASSERT_LE(removed, acked.size());

  start_brood(args);
  auto m = proc(1).wait_for_line(
      std::regex(R"(task log slot \d+ of .*: recovered .* (\d+) file\(s\) written again)"));
  ASSERT_TRUE(m) << proc(1).all_output();
  EXPECT_EQ(std::stoi((*m)[1]), 40) << proc(1).all_output();
  std::set<std::string> back;
  for (const std::string sub : {"/2", "/7"}) {
    for (const std::string& name : task_files(spool_dir() + sub)) {
      std::vector<kv> vars;
      ASSERT_TRUE(decode_task(spool_dir() + sub + "/" + name, vars));
      for (const auto& [k, v] : vars)
        if (k == "id") back.insert(v);
    }
  }
  EXPECT_EQ(back, acked);
}

// Whether a slot's two segments have both been started and the older one is clean since: the
// master's log switched for age and checkpointed the segment (the spooler's slot, done records
// only, never switches for age).
bool some_slot_checkpointed(const std::string& log_dir) {
  for (int slot = 0; slot < 16; ++slot) {
    std::array<std::pair<std::uint64_t, std::uint32_t>, 2> gen_state{};  // (generation, state)
    int started = 0;
    for (int which = 0; which < 2; ++which) {
      std::ifstream f(log_dir + "/slot-" + std::to_string(slot) + (which ? "-b" : "-a"),
                      std::ios::binary);
      char h[32] = {};
      if (!f.read(h, sizeof h) || std::string(h, 8) != "BRDTLOG1") continue;
      ++started;
      std::uint32_t state = 0;
      std::uint64_t generation = 0;
      std::memcpy(&state, h + 12, 4);  // little endian, as this machine
      std::memcpy(&generation, h + 16, 8);
      gen_state[which] = {generation, state};
    }
    if (started == 2 && std::min(gen_state[0], gen_state[1]).second == 2) return true;
  }
  return false;
}

// A live node's log checkpoints a segment once it is --spooler-log-max-age old, even with no
// task coming after: a task whose file then disappears (the spooler ran it, and its done record
// was overwritten since) is not written again by the next start's recovery. With the age limit
// off (0), the same is written again: the writer's segment outlived the done record.
TEST_F(spool_log_test, AnIdleNodesLogSegmentIsCheckpointedOnceAged) {
  for (const char* age : {"0", "200"}) {
    SCOPED_TRACE(std::string("--spooler-log-max-age ") + age);
    fs::remove_all(spool_dir());
    const std::vector<std::string> args{"--spooler", spool_dir(), "--spooler-log-max-age", age};
    const std::size_t first = procs_.size();
    const std::string address = start_brood(args);
    auto r = client::spool(address, {{"id", "t"}, {"priority", "3"}}, {}, 5s);
    ASSERT_TRUE(r && *r) << proc(first).all_output();
    ASSERT_TRUE(eventually([&] { return task_files(spool_dir() + "/3").size() == 1; }, 5s, 5ms));
    const bool aged = std::string(age) != "0";
    if (aged) {
      ASSERT_TRUE(eventually([&] { return some_slot_checkpointed(spool_dir() + "/.brood_log"); },
                             10s, 10ms))
          << proc(first).all_output();
    }
    proc(first).kill_all();
    if (!aged) EXPECT_FALSE(some_slot_checkpointed(spool_dir() + "/.brood_log"));
    for (const std::string& name : task_files(spool_dir() + "/3"))
      fs::remove(spool_dir() + "/3/" + name);  // as the spooler would, its done record lost

    start_brood(args);
    auto m = proc(first + 1).wait_for_line(
        std::regex(R"(task log slot \d+ of .*: recovered .* (\d+) file\(s\) written again)"));
    ASSERT_TRUE(m) << proc(first + 1).all_output();
    EXPECT_EQ(std::stoi((*m)[1]), aged ? 0 : 1) << proc(first + 1).all_output();
    EXPECT_EQ(task_files(spool_dir() + "/3").size(), aged ? 0U : 1U);
    proc(first + 1).kill_all();
  }
}

TEST_F(spool_log_test, StatsShowTheLogOfEachSpoolerDir) {
  const std::string stats = dir_ / "stats.sock";
  const std::string address = start_brood({"--spooler", spool_dir(), "--stats", stats});
  for (int i = 0; i < 10; ++i) {
    auto r = client::spool(address, {{"id", std::to_string(i)}}, {}, 5s);
    ASSERT_TRUE(r && *r) << proc().all_output();
  }
  nlohmann::json log;
  eventually(
      [&] {
        raw_socket s(stats);
        const auto doc = nlohmann::json::parse(s.read_to_eof(2s).value_or(""), nullptr, false);
        if (doc.is_discarded() || !doc.contains("spoolers")) return false;
        log = doc["spoolers"][0]["log"];
        // The files follow the acknowledgments (the master writes them after its answers).
        return log["tasks"] == 10 && log["pending"] == 10;
      },
      5s, 20ms);
  ASSERT_TRUE(log.is_object()) << proc().all_output();
  EXPECT_EQ(log["tasks"], 10) << log.dump();
  EXPECT_EQ(log["pending"], 10) << log.dump();
  EXPECT_GE(log["commits"].get<int>(), 1) << log.dump();
  EXPECT_LE(log["commits"].get<int>(), 10) << log.dump();
  EXPECT_GE(log["last_batch"].get<int>(), 1) << log.dump();
  EXPECT_GE(log["segments"].get<int>(), 4) << log.dump();  // the spooler's slot and a worker's
}

}  // namespace
}  // namespace brood::testing
