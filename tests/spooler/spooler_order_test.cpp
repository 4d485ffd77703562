// The run order of a spooler process when it learns of several files at once (one batch of
// inotify events, e.g. after it was descheduled): FIFO by due time (mtime), whatever order the
// events came in.
#include <signal.h>

#include <ctime>

#include "spooler_fixture.hpp"

namespace brood::spooler::test {
namespace {

using std::chrono::system_clock;

class spooler_order_test : public spooler_fixture {};

// The cause of the flaky TaskWithAtInTheFutureWaitsForIt (and Python's test_at_delays_the_task):
// "later" (`at` a second or two ahead) is written before "now"; a spooler process that reads both
// events only after "later" is due queued each at the time it read its event, "later" first, and
// ran it first. Stopping the spooler process across the `at` makes that every time.
TEST_F(spooler_order_test, AnAtTaskDueWhileTheSpoolerWasStoppedRunsAfterAnOlderOne) {
  auto& spooler = start_spooler();
  enqueue("first");  // the spooler is up and idle once it ran
  auto first = records_.next();
  ASSERT_TRUE(first) << spooler.all_output();
  ASSERT_EQ(::kill(spooler.pid(), SIGSTOP), 0);
  // Two seconds ahead: "now" must be written (its mtime) before the whole second `at`, even when
  // time() was read just before a second ended (with +1 a slow enqueue could cross it).
  const std::time_t at = std::time(nullptr) + 2;
  enqueue("later", {{"at", std::to_string(at)}});
  enqueue("now");
  // Both due before the spooler reads their events.
  while (system_clock::now() < system_clock::from_time_t(at) + 50ms)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(::kill(spooler.pid(), SIGCONT), 0);
  auto a = records_.next();
  auto b = records_.next();
  ASSERT_TRUE(a && b) << spooler.all_output();
  EXPECT_EQ(a->id, "now") << spooler.all_output();
  EXPECT_EQ(b->id, "later");
}

// Three `at` tasks written before three plain ones, all found due at once: the plain ones (older
// mtimes) run first.
TEST_F(spooler_order_test, ManyFilesFoundAtOnceRunInMtimeOrder) {
  auto& spooler = start_spooler();
  enqueue("first");
  ASSERT_TRUE(records_.next()) << spooler.all_output();
  ASSERT_EQ(::kill(spooler.pid(), SIGSTOP), 0);
  // Two seconds ahead, as above: the plain ones are written before `at` (failed under the
  // sanitizers with +1 when time() was read just before a second ended: their mtimes were later).
  const std::time_t at = std::time(nullptr) + 2;
  for (int i = 0; i < 3; ++i) enqueue("at" + std::to_string(i), {{"at", std::to_string(at)}});
  for (int i = 0; i < 3; ++i) enqueue("plain" + std::to_string(i));
  while (system_clock::now() < system_clock::from_time_t(at) + 50ms)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(::kill(spooler.pid(), SIGCONT), 0);
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    auto r = records_.next();
    ASSERT_TRUE(r) << spooler.all_output();
    order.push_back(r->id);
  }
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(order[i].starts_with("plain")) << order[i];
  for (int i = 3; i < 6; ++i) EXPECT_TRUE(order[i].starts_with("at")) << order[i];
}

}  // namespace
}  // namespace brood::spooler::test
