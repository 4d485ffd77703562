// idle, cheap mode and die-on-idle (docs/uwsgi-compat.md §5.2) on real processes: a quiet node
// stops its workers and wakes on the next connection without losing it; with die-on-idle it
// exits by itself, or, as a vassal, asks its emperor (byte 22), which stops it for good.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>

#include "cheaper_fixture.hpp"
#include "emperor_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono;

using cheap_mode_test = cheaper_fixture;

TEST_F(cheap_mode_test, ConnectionWakesACheapNodeAndIsServed) {
  const std::string address = start({"--processes", "2", "--idle", "1"});
  ASSERT_TRUE(logged(R"(no request for 1 s: going cheap \(every worker stops until the next)", 5s))
      << output();
  const json cheap = stats_until(
      [](const json& d) { return with_status(d, "cheap") == 2 && cheaper(d, "cheap_mode") == 1; });
  ASSERT_EQ(with_status(cheap, "cheap"), 2) << cheap.dump(1) << output();
  EXPECT_EQ(running(cheap), 0) << cheap.dump(1);
  EXPECT_EQ(cheaper(cheap, "algo"), "") << cheap.dump(1);
  const auto old_pids = node().worker_pids();
  ASSERT_EQ(old_pids.size(), 2u) << output();
  for (pid_t pid : old_pids)
    EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; }, 5s)) << pid << " still runs";

  // The connection waits in the listen queue until a new worker takes it.
  const auto before = steady_clock::now();
  std::string why;
  const auto answer = call(address, wire::value("wake up"), &why, 5s);
  ASSERT_TRUE(answer) << why << "\n" << output();
  EXPECT_EQ(*answer, wire::value("wake up"));
  EXPECT_LT(steady_clock::now() - before, 3s);
  EXPECT_EQ(count_once(R"(a connection is waiting: waking up 2 workers)", 1), 1u) << output();
  const json awake = stats_until([](const json& d) { return settled(d, 2); });
  EXPECT_TRUE(settled(awake, 2)) << awake.dump(1);
  EXPECT_FALSE(awake.contains("cheaper")) << awake.dump(1);  // no cheaper, no cheap mode
  // Quiet again: cheap again.
  EXPECT_TRUE(node().wait_for("going cheap", 2, 5s)) << output();
}

// With cheaper, waking up starts `cheaper` workers, not `processes` (the manual algorithm adds
// none after: brood's would add an idle one beside the busy worker of the first request).
TEST_F(cheap_mode_test, CheaperNodeWakesWithCheaperWorkers) {
  const std::string address = start({"--processes", "3", "--cheaper", "1", "--cheaper-algo",
                                     "manual", "--cheaper-initial", "2", "--idle", "1"});
  ASSERT_TRUE(logged("going cheap", 5s)) << output();
  const json cheap = stats_until([](const json& d) { return with_status(d, "cheap") == 3; });
  ASSERT_EQ(with_status(cheap, "cheap"), 3) << cheap.dump(1) << output();
  EXPECT_EQ(cheaper(cheap, "cheap_mode"), 1) << cheap.dump(1);
  EXPECT_EQ(cheaper(cheap, "active"), 0) << cheap.dump(1);
  EXPECT_TRUE(fresh_echo(address, wire::value(1), 5s)) << output();
  EXPECT_EQ(count_once(R"(a connection is waiting: waking up 1 workers)", 1), 1u) << output();
  EXPECT_EQ(node().worker_pids().size(), 3u) << output();  // 2 at the start, 1 woken
  const json awake = stats_until([](const json& d) {
    return running(d) == 1 && with_status(d, "cheap") == 2 && cheaper(d, "cheap_mode") == 0;
  });
  EXPECT_EQ(running(awake), 1) << awake.dump(1) << output();
  EXPECT_EQ(cheaper(awake, "cheap_mode"), 0) << awake.dump(1);
}

// Requests keep a node awake: the idle time counts from the last one.
TEST_F(cheap_mode_test, RequestsKeepTheNodeAwake) {
  const std::string address = start({"--processes", "1", "--idle", "1"});
  const auto end = steady_clock::now() + 2500ms;
  int served = 0;
  while (steady_clock::now() < end) {
    ASSERT_TRUE(fresh_echo(address, wire::value(served), 2s)) << output();
    ++served;
    // A request every ~200 ms: never 1 s without one.
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(count("going cheap"), 0u) << output();
  EXPECT_TRUE(logged("going cheap", 5s)) << output();
}

TEST_F(cheap_mode_test, DieOnIdleStopsAStandaloneNode) {
  const auto started = steady_clock::now();
  start({"--processes", "2", "--idle", "1", "--die-on-idle"});
  const auto status = node().wait_exit(8s);
  ASSERT_TRUE(status) << output();
  ASSERT_TRUE(WIFEXITED(*status)) << *status << "\n" << output();
  EXPECT_EQ(WEXITSTATUS(*status), 0) << output();
  EXPECT_LT(steady_clock::now() - started, 6s);
  EXPECT_TRUE(node().wait_eof(2s));  // every line read
  EXPECT_EQ(count(R"(no request for 1 s \(die-on-idle\): gracefully stopping)"), 1u) << output();
  EXPECT_EQ(count("going cheap"), 0u) << output();
}

using die_on_idle_emperor_test = emperor_fixture;

// The vassal sends byte 22 once idle; the emperor stops it and keeps it down until its file
// changes.
TEST_F(die_on_idle_emperor_test, IdleVassalIsStoppedAndNotRespawned) {
  write_vassal("idle", "idle = 1\ndie-on-idle = true\n");
  start_emperor();
  auto spawned =
      emperor_->wait_for_line(std::regex(R"(vassal idle\.ini: spawned \(pid ([0-9]+)\))"));
  ASSERT_TRUE(spawned) << output();
  const pid_t pid = std::stoi((*spawned)[1].str());
  EXPECT_TRUE(
      logged(R"(no request for 1 s \(die-on-idle\): asking the emperor to stop this vassal)", 5s))
      << output();
  EXPECT_TRUE(
      logged(R"(vassal idle\.ini \(pid [0-9]+\): idle, stopping until its file changes)", 5s))
      << output();
  EXPECT_TRUE(logged(R"(vassal idle\.ini \(pid [0-9]+\): .*; down until its file changes)", 5s))
      << output();
  EXPECT_TRUE(eventually([&] { return !alive(pid); }, 5s)) << output();
  // Two rescans (emperor-freq 1) and more than the throttle (800 ms max): no new spawn.
  EXPECT_FALSE(emperor_->wait_for(R"(vassal idle.ini: spawned)", 2, 2500ms)) << output();
  EXPECT_EQ(count(R"(idle\.ini.*(respawn|restarting|throttled))"), 0u) << output();
  // A changed file starts it again.
  touch("idle.ini");
  EXPECT_TRUE(emperor_->wait_for("vassal idle.ini: spawned", 2, 5s)) << output();
}

}  // namespace
}  // namespace brood::testing
