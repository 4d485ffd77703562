// The adaptive pool (cheaper, docs/uwsgi-compat.md §7, docs/config.md "The cheaper algorithms")
// on real processes: brood's algorithm grows the pool for a load step and shrinks it one window
// after; a cheap decision never cuts a request in flight; the stats JSON of a cheaper node; the
// option checks.
#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <vector>

#include "cheaper_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono;

using cheaper_test = cheaper_fixture;

TEST_F(cheaper_test, StepLoadGrowsThePoolAndItShrinksBack) {
  const std::string address = start(
      {"--processes", "4", "--cheaper", "1", "--cheaper-algo", "brood", "--cheaper-idle", "3"});
  ASSERT_TRUE(settled(stats_until([](const json& d) { return settled(d, 1); }), 1)) << output();

  // 6 concurrent 1 s requests: one worker would need 6 s, four need 2 s.
  constexpr int calls = 6;
  const auto start_time = steady_clock::now();
  std::vector<std::future<std::int64_t>> replies;
  for (int i = 0; i < calls; ++i) replies.push_back(sleep_call(address, 1000));
  const json grown =
      stats_until([](const json& d) { return running(d) == 4 && cheaper(d, "active") == 4; }, 3s);
  EXPECT_EQ(running(grown), 4) << grown.dump(1) << output();
  EXPECT_EQ(with_status(grown, "cheap"), 0) << grown.dump(1);
  std::set<std::int64_t> answered_by;
  for (auto& r : replies) answered_by.insert(r.get());
  const auto answered = steady_clock::now();
  const auto took = answered - start_time;
  // The window (3 s, longer than the load) keeps the pool through the load: nothing was
  // cheaped while it ran, though 2 workers were idle for its last second.
  EXPECT_EQ(count("cheaper: worker"), 0u) << output();
  EXPECT_FALSE(answered_by.contains(0)) << "a request got no answer\n" << output();
  EXPECT_EQ(answered_by.size(), 4u) << "the requests should run on all 4 workers\n" << output();
  EXPECT_LT(took, 4s) << "the pool did not grow in time\n" << output();
  EXPECT_GE(count_once(R"(cheaper \(brood\): spawn [0-9]+: [0-9]+ busy \+ [0-9]+ queued: want)", 1),
            1u)
      << output();

  // One window after the load needed them, the extra workers are cheaped: the pool is
  // back to `cheaper` workers (in one or two steps, as the load ramps down).
  const json shrunk = stats_until(
      [](const json& d) { return running(d) == 1 && with_status(d, "cheap") == 3; }, 6s);
  EXPECT_EQ(running(shrunk), 1) << shrunk.dump(1) << output();
  EXPECT_EQ(with_status(shrunk, "cheap"), 3) << shrunk.dump(1);
  EXPECT_EQ(cheaper(shrunk, "active"), 1) << shrunk.dump(1);
  EXPECT_EQ(count_once(R"(cheaper: worker [0-9]+ \(pid: [0-9]+\) stops)", 3), 3u) << output();
  EXPECT_GE(count_once(R"(cheaper \(brood\): cheap [0-9]+: want [0-9]+ for 3 s, have [0-9]+)", 1),
            1u)
      << output();
  EXPECT_TRUE(fresh_echo(address, wire::value("after"), 2s)) << output();
}

// A cheap decision (here the master FIFO's '-' with the manual algorithm) takes an idle worker;
// a busy one finishes its request, whose answer arrives whole.
TEST_F(cheaper_test, RequestInFlightIsNeverCutByACheap) {
  const std::string fifo = fifo_path();
  const std::string address = start({"--processes", "3", "--cheaper", "1", "--cheaper-algo",
                                     "manual", "--cheaper-initial", "3", "--master-fifo", fifo});
  ASSERT_TRUE(settled(stats_until([](const json& d) { return settled(d, 3); }), 3)) << output();
  fifo_writer w(fifo);
  ASSERT_TRUE(w.opened()) << output();

  auto first = sleep_call(address, 2000);
  auto second = sleep_call(address, 2000);
  const json busy = stats_until([](const json& d) { return with_status(d, "busy") == 2; });
  ASSERT_EQ(with_status(busy, "busy"), 2) << busy.dump(1) << output();
  const std::set<std::int64_t> busy_pids = pids(busy, "busy");
  const std::set<std::int64_t> idle_pids = pids(busy, "idle");
  ASSERT_EQ(idle_pids.size(), 1u) << busy.dump(1);
  const std::int64_t idle_pid = *idle_pids.begin();

  // Two fewer: the idle worker goes at once, the second '-' waits for a worker to be idle.
  ASSERT_TRUE(w.write("--"));
  auto stop = node().wait_for_line(std::regex(R"(cheaper: worker [0-9]+ \(pid: ([0-9]+)\) stops)"));
  ASSERT_TRUE(stop) << output();
  EXPECT_EQ(std::stoll((*stop)[1].str()), idle_pid) << output();
  // 's' runs after both '-' (bytes are handled in order): the busy workers are still busy.
  ASSERT_TRUE(w.write("s"));
  ASSERT_TRUE(logged(R"(\] cheaper: manual)")) << output();
  for (std::int64_t pid : busy_pids) {
    EXPECT_EQ(count("\\] worker [0-9]+ pid " + std::to_string(pid) + " busy "), 1u) << pid << "\n"
                                                                                    << output();
    EXPECT_EQ(count(R"(cheaper: worker [0-9]+ \(pid: )" + std::to_string(pid) + R"(\) stops)"), 0u)
        << "busy worker " << pid << " cheaped\n"
        << output();
  }

  // Both requests are answered whole, by the workers that held them.
  const std::int64_t a = first.get();
  const std::int64_t b = second.get();
  EXPECT_EQ((std::set<std::int64_t>{a, b}), busy_pids) << output();

  // The pending '-' takes one of them once idle: back to cheaper (1).
  const json after = stats_until(
      [](const json& d) { return running(d) == 1 && with_status(d, "cheap") == 2; }, 5s);
  EXPECT_EQ(running(after), 1) << after.dump(1) << output();
  EXPECT_EQ(count_once(R"(cheaper: worker [0-9]+ \(pid: [0-9]+\) stops)", 2), 2u) << output();
  // At the floor a further '-' does nothing.
  ASSERT_TRUE(w.write("-s"));
  EXPECT_TRUE(node().wait_for("cheaper: manual", 2)) << output();
  EXPECT_EQ(count(R"(cheaper: worker [0-9]+ \(pid: [0-9]+\) stops)"), 2u) << output();
  EXPECT_TRUE(fresh_echo(address, wire::value("after"), 2s)) << output();
}

TEST_F(cheaper_test, StatsShowCheapWorkersAndTheCheaperObject) {
  start({"--processes", "3", "--cheaper", "1"});
  const json doc = stats_until([](const json& d) { return settled(d, 1); });
  ASSERT_EQ(doc["workers"].size(), 3u) << doc.dump(1);
  EXPECT_EQ(doc["workers"][0]["status"], "idle") << doc.dump(1);
  EXPECT_GT(doc["workers"][0]["pid"].get<std::int64_t>(), 0);
  for (int i : {1, 2}) {
    EXPECT_EQ(doc["workers"][i]["status"], "cheap") << doc.dump(1);
    EXPECT_EQ(doc["workers"][i]["pid"], 0) << doc.dump(1);
    EXPECT_EQ(doc["workers"][i]["id"], i + 1) << doc.dump(1);
  }
  const json c = doc.value("cheaper", json());
  ASSERT_TRUE(c.is_object()) << doc.dump(1);
  EXPECT_EQ(c["algo"], "brood");
  EXPECT_EQ(c["cheaper"], 1);
  EXPECT_EQ(c["processes"], 3);
  EXPECT_EQ(c["active"], 1);
  EXPECT_EQ(c["cheap_mode"], 0) << doc.dump(1);
  EXPECT_TRUE(c.contains("last_decision")) << doc.dump(1);
  EXPECT_TRUE(c.contains("last_decision_at")) << doc.dump(1);
}

TEST_F(cheaper_test, NodeWithoutCheaperHasNoCheaperObject) {
  start({"--processes", "2"});
  const json doc = stats_until([](const json& d) { return settled(d, 2); });
  ASSERT_TRUE(settled(doc, 2)) << doc.dump(1);
  EXPECT_FALSE(doc.contains("cheaper")) << doc.dump(1);
}

// Bad values stop the node before it binds anything: exit status 2 and the option named.
TEST_F(cheaper_test, BadOptionValuesAreRefusedWithTheirName) {
  struct bad_case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<bad_case> cases{
      {{"--cheaper", "8", "--processes", "8"}, "cheaper (8) must be less than processes (8)"},
      {{"--processes", "4", "--cheaper", "1", "--cheaper-algo", "nope"},
       "invalid value 'nope' for option '--cheaper-algo'"},
      {{"--cheaper-rss-limit-soft", "100"}, "cheaper-rss-limit-soft (100) needs memory-report"},
      {{"--processes", "2", "--idle", "-1"}, "invalid value '-1' for option '--idle'"},
  };
  for (const bad_case& c : cases) {
    std::vector<std::string> args{"--socket", "127.0.0.1:0"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const run_result r = run_brood(args);
    EXPECT_EQ(r.status, 2) << c.message << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("bound to"), std::string::npos) << r.output;
  }
}

// A master FIFO path that is not a FIFO stops the node at its start, naming the path.
TEST_F(cheaper_test, MasterFifoOnARegularFileIsRefused) {
  const std::string file = dir_ / "plain";
  { std::ofstream(file) << "not a fifo"; }
  const run_result r = run_brood({"--socket", "127.0.0.1:0", "--master-fifo", file});
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(file), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not a FIFO"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace brood::testing
