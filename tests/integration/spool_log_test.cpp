// The task log on a real node (docs/spool_format.md §9): a remote enqueue (modifier1 17) is
// acknowledged once a group commit covers it; the node is SIGKILLed right after the last ack,
// the task files are removed (as a power cut may take unsynced files; the last ones may not have
// been written yet: the master writes them after its answer), and the restarted node's spooler
// writes every acknowledged task again before its first scan.
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
  const std::vector<std::string> args{"--spooler", spool_dir(), "--processes", "2"};
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
