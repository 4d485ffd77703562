// Broodlord with zerg mode end to end (the seed's example, docs/uwsgi-compat.md §5.1, §6): a real
// emperor with emperor-broodlord, a vassal with one worker, vassal-sos-backlog and a zerg server;
// an overload sends the SOS by itself, the emperor starts `a.ini:zerg`, the zerg attaches to the
// vassal's sockets and answers requests there, and retires once idle.
#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "cheaper_fixture.hpp"
#include "emperor_fixture.hpp"

namespace brood::testing {
namespace {

class broodlord_zerg_test : public emperor_fixture {
 protected:
  // a.ini: the vassal (1 worker, `trigger`, a zerg server) and its [zerg] stanza (attaches to
  // that server, retires after `idle` s). Returns the vassal's address.
  std::string write_vassal(int idle, const std::string& trigger = "vassal-sos-backlog = 2") {
    const std::string address = fresh_address();
    const std::string server = dir_ / "zerg.sock";
    std::ofstream(vassals() / "a.ini")
        << "[uwsgi]\nsocket = " << address << "\nmaster = true\nprocesses = 1\n"
        << trigger << "\nzerg-server = " << server << "\n\n[zerg]\nzerg = " << server
        << "\nmaster = true\nprocesses = 1\nidle = " << idle << "\ndie-on-idle = true\n";
    return address;
  }
  bool ready(const std::string& id) {
    return eventually([&] { return vassal(id).is_object() && vassal(id)["ready"] == 1; });
  }
  void start() {
    start_emperor({"--emperor-broodlord", "3", "--emperor-wrapper", BROOD_PRIMES_NODE});
  }
};

TEST_F(broodlord_zerg_test, OverloadCallsAZergThatServesTheVassalsSocketAndRetires) {
  const std::string address = write_vassal(2);
  start();
  ASSERT_TRUE(eventually([&] {
    return vassal("a.ini").is_object() && vassal("a.ini")["ready"] == 1;
  })) << output();
  const auto vassal_pid = sleep_call(address, 0).get();  // the vassal's one worker
  ASSERT_GT(vassal_pid, 0) << output();
  // 6 calls of 1.5 s on one worker: the queue passes 2 at once, so the vassal sends SOS.
  std::vector<std::future<std::int64_t>> calls;
  for (int i = 0; i < 6; ++i) calls.push_back(sleep_call(address, 1500, 20s));
  EXPECT_TRUE(logged(R"(connections waiting \(vassal-sos-backlog 2\))")) << output();
  EXPECT_TRUE(logged(R"(a\.ini: SOS, starting zerg a\.ini:zerg)")) << output();
  EXPECT_TRUE(logged(R"(a zerg attached to this node's sockets)")) << output();
  std::set<std::int64_t> answered;
  for (auto& c : calls) answered.insert(c.get());
  EXPECT_FALSE(answered.count(0)) << "a call failed\n" << output();
  EXPECT_GT(answered.size(), 1u) << "only the vassal's worker answered\n" << output();
  // The zergs retire (idle = 2, die-on-idle) and are not respawned; the vassal serves on.
  EXPECT_TRUE(eventually(
      [&] {
        const auto s = stats();
        if (!s.is_object()) return false;
        for (const auto& v : s["vassals"])
          if (v["zerg"] == 1) return false;
        return true;
      },
      15s))
      << output();
  EXPECT_EQ(sleep_call(address, 0).get(), vassal_pid) << output();
}

// vassal-sos: every worker busy for 1 s sends the SOS by itself.
TEST_F(broodlord_zerg_test, AllWorkersBusyForVassalSosSecondsCallsAZerg) {
  const std::string address = write_vassal(30, "vassal-sos = 1");
  start();
  ASSERT_TRUE(ready("a.ini")) << output();
  auto busy = sleep_call(address, 2500, 20s);
  EXPECT_TRUE(logged(R"(all 1 workers busy for [0-9]+ ms)")) << output();
  EXPECT_TRUE(logged(R"(a\.ini: SOS, starting zerg a\.ini:zerg)")) << output();
  EXPECT_TRUE(ready("a.ini:zerg")) << output();
  EXPECT_GT(busy.get(), 0) << output();
}

// A touch reloads the vassal and its zerg while calls run: none fails (every process keeps its
// listening sockets open across its reload).
TEST_F(broodlord_zerg_test, ReloadInZergModeFailsNoRequest) {
  const std::string address = write_vassal(30, "master-fifo = " + (dir_ / "a.fifo"));
  start();
  ASSERT_TRUE(ready("a.ini")) << output();
  {
    fifo_writer fifo(dir_ / "a.fifo");
    ASSERT_TRUE(fifo.write("B")) << output();
  }
  ASSERT_TRUE(ready("a.ini:zerg")) << output();
  ASSERT_TRUE(logged(R"(a zerg attached to this node's sockets)")) << output();
  std::atomic<bool> done{false};
  std::atomic<int> calls{0}, failed{0};
  std::thread load([&] {
    while (!done) {
      (sleep_call(address, 20, 5s).get() > 0 ? calls : failed)++;
    }
  });
  ASSERT_TRUE(eventually([&] { return calls > 20; })) << output();
  touch("a.ini");
  EXPECT_TRUE(logged(R"(zerg a\.ini:zerg \(pid [0-9]+\): base file changed, reload)")) << output();
  EXPECT_TRUE(logged(R"(workers reloaded \(reload 1\))")) << output();
  const int before = calls;
  EXPECT_TRUE(eventually([&] { return calls > before + 20; })) << output();
  done = true;
  load.join();
  EXPECT_EQ(failed, 0) << output();
}

}  // namespace
}  // namespace brood::testing
