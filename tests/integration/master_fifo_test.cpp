// The master FIFO (`master-fifo PATH`, docs/uwsgi-compat.md §5.3) on real processes: each letter
// with an observable effect, the letters brood has no subsystem for, unknown bytes, and the slot
// switch between two FIFO paths.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cheaper_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono;
using wire::value;

class master_fifo_test : public cheaper_fixture {
 protected:
  // Starts a node with `extra` options, a stats socket and the master FIFO, whose writer end
  // fifo_ then holds open.
  std::string start_with_fifo(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--master-fifo", fifo_path()});
    const std::string address = start(std::move(extra));
    EXPECT_TRUE(node().wait_for("master FIFO on " + fifo_path())) << output();
    fifo_ = std::make_unique<fifo_writer>(fifo_path());
    EXPECT_TRUE(fifo_->opened()) << output();
    return address;
  }

  bool send(const std::string& bytes) { return fifo_ && fifo_->write(bytes); }

  // The pids of `n` settled workers (empty when the pool does not settle in time).
  std::set<std::int64_t> settled_pids(int n) {
    const json doc = stats_until([n](const json& d) { return settled(d, n); });
    return settled(doc, n) ? pids(doc) : std::set<std::int64_t>{};
  }

  static bool disjoint(const std::set<std::int64_t>& a, const std::set<std::int64_t>& b) {
    for (std::int64_t x : a)
      if (b.contains(x)) return false;
    return true;
  }

  std::unique_ptr<fifo_writer> fifo_;
};

TEST_F(master_fifo_test, PlusAndMinusResizeAManualPool) {
  const std::string address =
      start_with_fifo({"--processes", "3", "--cheaper", "1", "--cheaper-algo", "manual"});
  ASSERT_EQ(settled_pids(1).size(), 1u) << output();
  const std::string spawn = R"(cheaper \(manual\): spawn 1: master FIFO)";
  const std::string cheap = R"(cheaper \(manual\): cheap 1: master FIFO)";

  ASSERT_TRUE(send("+"));
  EXPECT_EQ(settled_pids(2).size(), 2u) << output();
  ASSERT_TRUE(send("++"));  // only one cheaped slot is left: the second '+' does nothing
  EXPECT_EQ(settled_pids(3).size(), 3u) << output();
  EXPECT_EQ(count_once(spawn, 2), 2u) << output();

  ASSERT_TRUE(send("-"));
  EXPECT_EQ(settled_pids(2).size(), 2u) << output();
  ASSERT_TRUE(send("---"));  // never below cheaper (1)
  EXPECT_EQ(settled_pids(1).size(), 1u) << output();
  EXPECT_EQ(count_once(cheap, 2), 2u) << output();

  ASSERT_TRUE(send("+"));  // no '-' was left pending below the floor
  const json doc = stats_until([](const json& d) { return settled(d, 2); });
  EXPECT_TRUE(settled(doc, 2)) << doc.dump(1) << output();
  EXPECT_EQ(with_status(doc, "cheap"), 1) << doc.dump(1);
  EXPECT_EQ(cheaper(doc, "active"), 2) << doc.dump(1);
  EXPECT_EQ(cheaper(doc, "algo"), "manual") << doc.dump(1);
  EXPECT_EQ(cheaper(doc, "last_decision"), "spawn 1: master FIFO") << doc.dump(1);
  EXPECT_EQ(count_once(spawn, 3), 3u) << output();
  EXPECT_TRUE(fresh_echo(address, value("x"), 2s)) << output();
}

TEST_F(master_fifo_test, PlusWithoutCheaperIsLogged) {
  const std::string address = start_with_fifo({"--processes", "2"});
  ASSERT_TRUE(send("+-"));
  EXPECT_TRUE(logged(R"(master FIFO \+ ignored: cheaper is off)")) << output();
  EXPECT_TRUE(logged(R"(master FIFO - ignored: cheaper is off)")) << output();
  EXPECT_TRUE(fresh_echo(address, value("x"), 2s)) << output();
}

TEST_F(master_fifo_test, PauseHoldsRequestsUntilResumed) {
  const std::string address = start_with_fifo({"--processes", "2"});
  ASSERT_EQ(settled_pids(2).size(), 2u) << output();
  ASSERT_TRUE(send("p"));
  ASSERT_TRUE(logged(R"(pausing the workers \(master FIFO p\))")) << output();
  const json paused = stats_until([](const json& d) { return with_status(d, "pause") == 2; });
  EXPECT_EQ(with_status(paused, "pause"), 2) << paused.dump(1);

  raw_socket s(address);
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(s.send(message_packet(0, value("held"))));
  EXPECT_FALSE(s.readable(700ms)) << "a paused worker answered\n" << output();

  ASSERT_TRUE(send("p"));
  EXPECT_TRUE(logged("resuming the workers")) << output();
  const auto reply = s.read_packet(3s);
  ASSERT_TRUE(reply) << output();
  EXPECT_EQ(reply_value(*reply), value("held"));
  EXPECT_EQ(settled_pids(2).size(), 2u) << output();
}

// A reload or a stop of a paused node resumes the workers first (a stopped process would never
// see its SIGTERM).
TEST_F(master_fifo_test, ReloadAndStopResumeAPausedNode) {
  const std::string address = start_with_fifo({"--processes", "2"});
  const auto before = settled_pids(2);
  ASSERT_EQ(before.size(), 2u) << output();
  ASSERT_TRUE(send("pr"));
  EXPECT_TRUE(logged("resuming the workers")) << output();
  EXPECT_TRUE(logged(R"(workers reloaded \(reload 1\))")) << output();
  const auto after = settled_pids(2);
  EXPECT_EQ(after.size(), 2u) << output();
  EXPECT_TRUE(disjoint(before, after)) << output();
  EXPECT_TRUE(fresh_echo(address, value("x"), 2s)) << output();

  ASSERT_TRUE(send("pq"));
  const auto status = node().wait_exit(5s);
  ASSERT_TRUE(status) << output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status << "\n" << output();
  EXPECT_TRUE(node().wait_eof(2s));
  EXPECT_EQ(count("resuming the workers"), 2u) << output();
  EXPECT_EQ(count("NO MERCY"), 0u) << output();
}

TEST_F(master_fifo_test, ChainReloadReplacesEveryWorkerWithoutFailingARequest) {
  const std::string address = start_with_fifo({"--processes", "3"});
  const auto before = settled_pids(3);
  ASSERT_EQ(before.size(), 3u) << output();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    int i = 0;
    while (!stop) (fresh_echo(address, value(i++), 3s) ? ok : failed)++;
  });
  auto ten_more_calls = [&] {
    const int target = ok.load() + 10;
    return eventually([&] { return ok.load() >= target || failed.load() > 0; });
  };
  EXPECT_TRUE(ten_more_calls());
  ASSERT_TRUE(send("c"));
  EXPECT_TRUE(logged(R"(chain reload of the workers \(reload 1\))")) << output();
  EXPECT_TRUE(logged(R"(chain reload done \(reload 1\))")) << output();
  EXPECT_TRUE(ten_more_calls());
  stop = true;
  load.join();
  EXPECT_EQ(failed.load(), 0) << output();
  const auto after = settled_pids(3);
  EXPECT_EQ(after.size(), 3u) << output();
  EXPECT_TRUE(disjoint(before, after)) << output();
  EXPECT_EQ(node().worker_pids().size(), 6u) << output();
}

TEST_F(master_fifo_test, ReloadLettersReplaceTheWorkers) {
  const std::string address = start_with_fifo({"--processes", "2"});
  auto pool = settled_pids(2);
  ASSERT_EQ(pool.size(), 2u) << output();
  struct step {
    char letter;
    const char* kind;
  };
  int reload = 0;
  for (const step s :
       {step{'r', "graceful"}, step{'w', "graceful"}, step{'R', "brutal"}, step{'W', "brutal"}}) {
    ++reload;
    const std::string n = std::to_string(reload);
    ASSERT_TRUE(send(std::string(1, s.letter))) << s.letter;
    EXPECT_TRUE(logged(std::string(s.kind) + R"( reload of workers \(reload )" + n + R"(\))"))
        << s.letter << "\n"
        << output();
    EXPECT_TRUE(logged(R"(workers reloaded \(reload )" + n + R"(\))")) << s.letter << "\n"
                                                                       << output();
    const auto next = settled_pids(2);
    EXPECT_EQ(next.size(), 2u) << s.letter << "\n" << output();
    EXPECT_TRUE(disjoint(pool, next)) << s.letter << "\n" << output();
    for (std::int64_t pid : pool)
      EXPECT_TRUE(eventually([&] { return ::kill(static_cast<pid_t>(pid), 0) != 0; }, 5s))
          << s.letter << ": old worker " << pid << " still runs";
    EXPECT_TRUE(fresh_echo(address, value(reload), 2s)) << s.letter << "\n" << output();
    pool = next;
  }
  EXPECT_EQ(count("DAMN"), 0u) << output();
}

// Reloads of a cheaper node replace the running workers only: cheaped slots stay cheap.
TEST_F(master_fifo_test, ReloadsOfACheaperNodeKeepTheCheapedSlots) {
  const std::string address =
      start_with_fifo({"--processes", "3", "--cheaper", "1", "--cheaper-algo", "manual"});
  auto pool = settled_pids(1);
  ASSERT_EQ(pool.size(), 1u) << output();
  int reload = 0;
  for (const char letter : {'c', 'r', 'W'}) {
    ++reload;
    ASSERT_TRUE(send(std::string(1, letter)));
    EXPECT_TRUE(logged(R"((chain reload done|workers reloaded) \(reload )" +
                       std::to_string(reload) + R"(\))"))
        << letter << "\n"
        << output();
    const json doc = stats_until([&](const json& d) {
      return settled(d, 1) && with_status(d, "cheap") == 2 && pids(d) != pool;
    });
    EXPECT_TRUE(settled(doc, 1)) << letter << "\n" << doc.dump(1) << output();
    EXPECT_EQ(with_status(doc, "cheap"), 2) << letter << "\n" << doc.dump(1);
    EXPECT_TRUE(disjoint(pool, pids(doc))) << letter << "\n" << output();
    EXPECT_TRUE(fresh_echo(address, value(reload), 2s)) << letter << "\n" << output();
    pool = pids(doc);
  }
  EXPECT_EQ(node().worker_pids().size(), 4u) << output();
}

TEST_F(master_fifo_test, GracefulShutdownFinishesTheRequestAndExitsZero) {
  const std::string address = start_with_fifo({"--processes", "2"});
  auto call = sleep_call(address, 800);
  ASSERT_EQ(
      with_status(stats_until([](const json& d) { return with_status(d, "busy") == 1; }), "busy"),
      1)
      << output();
  ASSERT_TRUE(send("q"));
  const auto status = node().wait_exit(8s);
  ASSERT_TRUE(status) << output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status << "\n" << output();
  EXPECT_TRUE(node().wait_eof(2s));  // every line read
  EXPECT_GT(call.get(), 0) << "the request in flight was cut\n" << output();
  EXPECT_EQ(count(R"(graceful shutdown: gracefully stopping 2 workers)"), 1u) << output();
}

TEST_F(master_fifo_test, BrutalShutdownExitsAtOnce) {
  const std::string address = start_with_fifo({"--processes", "2"});
  auto call = sleep_call(address, 30000);
  ASSERT_EQ(
      with_status(stats_until([](const json& d) { return with_status(d, "busy") == 1; }), "busy"),
      1)
      << output();
  const auto before = steady_clock::now();
  ASSERT_TRUE(send("Q"));
  const auto status = node().wait_exit(5s);
  ASSERT_TRUE(status) << output();
  EXPECT_TRUE(WIFEXITED(*status)) << *status << "\n" << output();
  EXPECT_LT(steady_clock::now() - before, 3s);
  EXPECT_TRUE(node().wait_eof(2s));      // every line read
  EXPECT_EQ(call.get(), 0) << output();  // the request was cut
  EXPECT_EQ(count(R"(brutal shutdown: killing all workers now)"), 1u) << output();
}

TEST_F(master_fifo_test, StatsLetterLogsOneLinePerWorker) {
  const std::string address = start_with_fifo({"--processes", "2"});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(fresh_echo(address, value(i), 2s)) << output();
  auto total = [](const json& d) {
    std::uint64_t n = 0;
    for (const json& w : d["workers"]) n += w["requests"].get<std::uint64_t>();
    return n;
  };
  const json doc = stats_until([&](const json& d) { return settled(d, 2) && total(d) == 3; });
  ASSERT_EQ(total(doc), 3u) << doc.dump(1);
  ASSERT_TRUE(send("s"));
  ASSERT_TRUE(logged(R"(\] cheaper: off)")) << output();
  const std::regex line(R"(\] worker ([0-9]+) pid ([0-9]+) idle requests ([0-9]+) exceptions 0)");
  EXPECT_EQ(node().count_lines(line), 2u) << output();
  std::uint64_t requests = 0;
  for (const json& w : doc["workers"]) {
    const std::string re = R"(\] worker )" + std::to_string(w["id"].get<int>()) + " pid " +
                           std::to_string(w["pid"].get<std::int64_t>()) + " idle requests " +
                           std::to_string(w["requests"].get<std::uint64_t>()) + " ";
    EXPECT_EQ(count(re), 1u) << re << "\n" << output();
    requests += w["requests"].get<std::uint64_t>();
  }
  EXPECT_EQ(requests, 3u);
}

TEST_F(master_fifo_test, ReinforcementsWithoutEmperorAreLogged) {
  const std::string address = start_with_fifo({"--processes", "1"});
  ASSERT_TRUE(send("B"));
  EXPECT_TRUE(logged(R"(no emperor: reinforcements not asked \(SOS needs an emperor\))"))
      << output();
  EXPECT_TRUE(fresh_echo(address, value("x"), 2s)) << output();
}

TEST_F(master_fifo_test, GoCheapLetterStopsEveryWorkerUntilAConnection) {
  const std::string address = start_with_fifo({"--processes", "2"});
  const auto before = settled_pids(2);
  ASSERT_EQ(before.size(), 2u) << output();
  ASSERT_TRUE(send("C"));
  EXPECT_TRUE(
      logged(R"(master FIFO C: going cheap \(every worker stops until the next connection\))"))
      << output();
  const json cheap = stats_until([](const json& d) { return with_status(d, "cheap") == 2; });
  EXPECT_EQ(with_status(cheap, "cheap"), 2) << cheap.dump(1) << output();
  EXPECT_EQ(cheaper(cheap, "cheap_mode"), 1) << cheap.dump(1);
  EXPECT_TRUE(fresh_echo(address, value("wake"), 5s)) << output();
  EXPECT_TRUE(logged(R"(a connection is waiting: waking up 2 workers)")) << output();
  const auto after = settled_pids(2);
  EXPECT_EQ(after.size(), 2u) << output();
  EXPECT_TRUE(disjoint(before, after)) << output();
}

// C with a request in flight: its worker finishes it before it stops; several connections at
// once wake the node and are all served.
TEST_F(master_fifo_test, GoCheapFinishesTheRequestInFlightAndWakesForABurst) {
  const std::string address = start_with_fifo({"--processes", "2"});
  ASSERT_EQ(settled_pids(2).size(), 2u) << output();
  auto held = sleep_call(address, 800);
  ASSERT_EQ(
      with_status(stats_until([](const json& d) { return with_status(d, "busy") == 1; }), "busy"),
      1)
      << output();
  ASSERT_TRUE(send("C"));
  EXPECT_TRUE(logged("going cheap")) << output();
  EXPECT_GT(held.get(), 0) << "the request in flight was cut\n" << output();
  const json cheap = stats_until([](const json& d) { return with_status(d, "cheap") == 2; });
  ASSERT_EQ(with_status(cheap, "cheap"), 2) << cheap.dump(1) << output();

  std::vector<std::future<std::int64_t>> burst;
  for (int i = 0; i < 5; ++i) burst.push_back(sleep_call(address, 100, 5s));
  for (auto& r : burst) EXPECT_GT(r.get(), 0) << output();
  EXPECT_EQ(count_once("a connection is waiting: waking up 2 workers", 1), 1u) << output();
  EXPECT_EQ(count("NO MERCY"), 0u) << output();
}

TEST_F(master_fifo_test, LettersWithoutASubsystemAreLogged) {
  const std::string address = start_with_fifo({"--processes", "2"});
  const auto before = settled_pids(2);
  ASSERT_EQ(before.size(), 2u) << output();
  ASSERT_TRUE(send("EflLPS"));
  for (const char* re : {
           R"(master FIFO E \(emperor_rescan\) ignored: this master runs no emperor)",
           R"(master FIFO f \(refork\) ignored: brood does not re-fork its master)",
           R"(master FIFO l \(reopen_log\) ignored: brood logs to stderr)",
           R"(master FIFO L \(rotate_log\) ignored: brood logs to stderr)",
           R"(master FIFO P \(write_pidfiles\) ignored: brood writes no pidfile)",
           R"(master FIFO S ignored: this node has no subscriptions)",
       })
    EXPECT_TRUE(logged(re)) << re << "\n" << output();
  EXPECT_TRUE(fresh_echo(address, value("x"), 2s)) << output();
  EXPECT_EQ(settled_pids(2), before) << output();  // nothing was restarted
}

TEST_F(master_fifo_test, UnknownBytesAreLoggedAndIgnored) {
  const std::string address = start_with_fifo({"--processes", "2"});
  const auto before = settled_pids(2);
  ASSERT_EQ(before.size(), 2u) << output();
  ASSERT_TRUE(send(std::string("x\x01\n\r ", 5) + "s"));
  ASSERT_TRUE(logged(R"(\] cheaper: off)")) << output();  // every byte before 's' was read
  EXPECT_EQ(count(R"(master FIFO: unknown command 'x' ignored)"), 1u) << output();
  EXPECT_EQ(count(R"(master FIFO: unknown command byte 1 ignored)"), 1u) << output();
  EXPECT_EQ(count(R"(master FIFO: unknown command byte 32 ignored)"), 1u) << output();
  EXPECT_EQ(count("master FIFO: unknown command"), 3u) << output();  // '\n' and '\r': silent
  EXPECT_TRUE(fresh_echo(address, value("x"), 2s)) << output();
  EXPECT_EQ(settled_pids(2), before) << output();
}

// A digit selects the slot whose path the FIFO is re-created at after the writer closes.
TEST_F(master_fifo_test, SlotSwitchMovesTheFifoToAnotherPath) {
  const std::string first = fifo_path("fifo0");
  const std::string second = fifo_path("fifo1");
  start({"--processes", "1", "--master-fifo", first, "--master-fifo", second});
  ASSERT_TRUE(node().wait_for("master FIFO on " + first)) << output();
  ASSERT_TRUE(settled(stats_until([](const json& d) { return settled(d, 1); }), 1)) << output();
  {
    fifo_writer w(first);
    ASSERT_TRUE(w.opened()) << output();
    ASSERT_TRUE(w.write("51"));  // slot 5 has no path; slot 1 is `second`
  }
  EXPECT_TRUE(logged("master FIFO: slot 5 has no path, ignored")) << output();
  {
    fifo_writer w(second);
    ASSERT_TRUE(w.opened()) << "no FIFO at the second path\n" << output();
    ASSERT_TRUE(w.write("s0"));
    EXPECT_TRUE(logged(R"(\] worker 1 pid [0-9]+ idle requests 0 )")) << output();
    // Nobody reads the first path now, not even a worker (they do not inherit the master's
    // FIFO): a writer cannot open it, so no command written there is silently lost.
    const int fd = ::open(first.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    const int error = errno;
    EXPECT_EQ(fd, -1);
    EXPECT_EQ(error, ENXIO);
    if (fd >= 0) ::close(fd);
  }
  // '0' selected the first path again.
  fifo_writer back(first);
  ASSERT_TRUE(back.opened()) << "no FIFO at the first path again\n" << output();
  ASSERT_TRUE(back.write("B"));
  EXPECT_TRUE(logged("no emperor: reinforcements not asked")) << output();
}

}  // namespace
}  // namespace brood::testing
