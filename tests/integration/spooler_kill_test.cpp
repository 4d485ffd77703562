// At-least-once delivery under SIGKILL: a real primes_node with a spooler runs 2400 tasks (half
// written straight into its dir with spool_store, half enqueued over the network with modifier1
// 17) while the test SIGKILLs its spooler process at random moments. Every acknowledged task must
// have run at least once, and no task file may be left behind. And acknowledged tasks whose spool
// files were never written (the master writes them after its answer) when the whole node is
// SIGKILLed run once each after its restart.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "brood/client/spool.hpp"
#include "brood/spooler/spool_store.hpp"
#include "brood/wire/spool_file.hpp"
#include "node_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono;

constexpr int tasks_per_producer = 1200;
constexpr int min_kills = 8;

class spooler_kill_test : public node_fixture {
 protected:
  void TearDown() override {
    nodes_.clear();  // kills and reaps the node and its children before root_ goes
  }

  // The pid in the last "spawned the uWSGI spooler on dir DIR with pid P" line (0: none yet).
  pid_t last_spooler_pid() {
    static const std::regex re("spawned the uWSGI spooler on dir \\S+ with pid (\\d+)");
    const std::string out = node().all_output();
    pid_t pid = 0;
    for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator();
         ++it)
      pid = std::stoi((*it)[1]);
    return pid;
  }
  std::size_t spawn_count() {
    return node().count_lines(std::regex("spawned the uWSGI spooler on dir"));
  }

  wire::spool_vars task(int id) const {
    // Busy enough that many kills land mid-task.
    return {{"id", std::to_string(id)}, {"log", log_}, {"ms", id % 5 == 0 ? "5" : "1"}};
  }

  // Task files left in the spool dir (priority subdirs included).
  std::size_t tasks_left() {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const std::string name = it->path().filename().string();
      if (it->path().parent_path().filename() == "failed" ||
          it->path().parent_path().filename() == "quarantine")
        continue;
      n += name.starts_with(wire::spool_file_prefix);
    }
    return n;
  }

  temp_dir root_{"brood_spooler_kill_"};
  std::string dir_ = root_ / "spool";
  std::string log_ = root_ / "runs.log";
};

TEST_F(spooler_kill_test, EveryAcknowledgedTaskRunsDespiteSigkills) {
  const auto started = steady_clock::now();
  const std::string address =
      start_node({"--spooler", dir_, "--spooler-retry-delay", "20", "--spooler-quiet"});
  ASSERT_GT(last_spooler_pid(), 0) << node().all_output();
  const spooler::spool_store store({dir_});

  std::atomic<int> producing{2};
  std::vector<int> acked_local, acked_remote;
  std::atomic<int> refused{0};
  std::string first_refusal;
  std::thread local([&] {
    for (int id = 0; id < tasks_per_producer; ++id)
      if (store.enqueue(task(id), {})) acked_local.push_back(id);
    --producing;
  });
  std::thread remote([&] {
    for (int id = tasks_per_producer; id < 2 * tasks_per_producer; ++id) {
      auto r = client::spool(address, task(id), {}, 5000ms);
      if (r && *r) {
        acked_remote.push_back(id);
      } else if (refused++ == 0) {
        first_refusal = r ? "refused" : r.error().message;
      }
    }
    --producing;
  });

  // SIGKILL the current spooler at random moments while the tasks come in (at least
  // min_kills times), each time once its successor is up. Kills within 1 s of a spawn make the
  // master's crash-loop backoff delay the respawn: the tasks wait, none is lost.
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(300, 1500);
  int killed = 0;
  for (; killed < min_kills || producing > 0; ++killed) {
    std::this_thread::sleep_for(milliseconds(pause_ms(rng)));  // a random moment: the behaviour
    const std::size_t before = spawn_count();
    const pid_t victim = last_spooler_pid();
    ASSERT_EQ(::kill(victim, SIGKILL), 0) << victim;
    eventually([&] { return spawn_count() != before; }, 10s, 2ms);
    ASSERT_GT(spawn_count(), before) << "no spooler respawned\n" << node().all_output();
  }
  local.join();
  remote.join();
  const auto produced = steady_clock::now();
  EXPECT_EQ(refused.load(), 0) << first_refusal;
  EXPECT_EQ(acked_local.size() + acked_remote.size(), 2u * tasks_per_producer);

  // Every task file goes away once its task ran (a killed run is retried after 20 ms).
  eventually([&] { return tasks_left() == 0; },
             duration_cast<milliseconds>(started + 55s - steady_clock::now()), 20ms);
  ASSERT_EQ(tasks_left(), 0u) << "tasks left after " << killed << " kills\n"
                              << node().all_output().substr(0, 20000);
  std::set<int> ran;
  std::size_t runs = 0;
  std::ifstream in(log_);
  for (std::string line; std::getline(in, line); ++runs) ran.insert(std::stoi(line));
  int missing = 0;
  for (const auto* acked : {&acked_local, &acked_remote})
    for (int id : *acked) missing += ran.count(id) == 0;
  EXPECT_EQ(missing, 0) << "of " << 2 * tasks_per_producer << " acknowledged tasks";
  EXPECT_FALSE(fs::exists(dir_ + "/quarantine")) << node().all_output();
  EXPECT_FALSE(fs::exists(dir_ + "/failed")) << node().all_output();
  EXPECT_GE(runs, ran.size());
  EXPECT_LE(runs - ran.size(), static_cast<std::size_t>(killed)) << "at most one rerun per kill";
  std::cout << "[ spooler ] " << ran.size() << " tasks, " << runs << " runs, " << killed
            << " SIGKILLs; enqueued in " << duration_cast<milliseconds>(produced - started).count()
            << " ms, all done in "
            << duration_cast<milliseconds>(steady_clock::now() - started).count() << " ms\n";
}

// Remote enqueues are acknowledged once the node's task log commits them; the master writes each
// spool file after its answer. The node is SIGKILLed right after the last ack, with its spooler
// stopped (SIGSTOP) since before the first task, so no task has run; every task file is then
// removed, which is what a kill between the answer and the file write (or a power cut, the files
// being unsynced) leaves. The restarted node's recovery writes them again and each task runs
// exactly once.
TEST_F(spooler_kill_test, AcknowledgedTasksWithoutTheirFilesRunOnceAfterTheNodeIsKilled) {
  start_node({"--spooler", dir_, "--spooler-quiet"});
  const pid_t spooler = last_spooler_pid();
  ASSERT_GT(spooler, 0) << node().all_output();
  ASSERT_EQ(::kill(spooler, SIGSTOP), 0);
  const auto stopped = [spooler] {
    std::ifstream f("/proc/" + std::to_string(spooler) + "/stat");
    std::string line((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::size_t end = line.rfind(')');
    return end != std::string::npos && end + 2 < line.size() && line[end + 2] == 'T';
  };
  ASSERT_TRUE(eventually(stopped, 10s, 1ms)) << "the spooler never stopped";
  const std::string address = node().wait_bound_address();
  constexpr int tasks = 40;
  for (int id = 0; id < tasks; ++id) {
    auto r = client::spool(address, task(id), {}, 5000ms);
    ASSERT_TRUE(r && *r) << (r ? "refused" : r.error().message) << "\n" << node().all_output();
  }
  node().kill_all();  // the whole node, right after the last acknowledgment
  std::size_t removed = 0;
  for (const auto& e : fs::directory_iterator(dir_))
    if (e.path().filename().string().starts_with(wire::spool_file_prefix))
      removed += fs::remove(e.path());
  EXPECT_LE(removed, static_cast<std::size_t>(tasks));
  EXPECT_FALSE(fs::exists(log_)) << "no task ran before the kill";

  nodes_.clear();
  start_node({"--spooler", dir_, "--spooler-quiet"});
  std::map<int, int> runs;
  const auto all_ran = [&] {
    runs.clear();
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) ++runs[std::stoi(line)];
    return runs.size() == static_cast<std::size_t>(tasks) && tasks_left() == 0;
  };
  ASSERT_TRUE(eventually(all_ran, 30s, 5ms)) << runs.size() << " of " << tasks << " tasks ran\n"
                                             << node().all_output();
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << "task " << id << " ran " << n << " times";
}

// A spooler process alone on its dir sets done files aside once nothing is due (spooler_task.hpp,
// retire_done): while a long task runs, the quick ones found in the same batch before it are
// done but still in the dir. The whole node is SIGKILLed then (the spooler board goes with the
// master): the restarted node's recovery removes those files (their done records were written
// when they ended), so none runs again; only the long task, killed mid-run, runs again.
TEST_F(spooler_kill_test, DoneTasksNotSetAsideYetDoNotRunAgainAfterTheNodeIsKilled) {
  start_node({"--spooler", dir_, "--spooler-quiet"});
  const pid_t spooler = last_spooler_pid();
  ASSERT_GT(spooler, 0) << node().all_output();
  const std::string address = node().wait_bound_address();
  ASSERT_EQ(::kill(spooler, SIGSTOP), 0);  // every task found in one batch once it goes on
  constexpr int quick = 40;
  constexpr int slow = quick;  // its id
  const auto run_counts = [&] {
    std::map<int, int> runs;
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) ++runs[std::stoi(line)];
    return runs;
  };
  for (int id = 0; id <= quick; ++id) {
    wire::spool_vars v = {{"id", std::to_string(id)}, {"log", log_}};
    if (id == slow) v.emplace_back("ms", "5000");
    auto r = client::spool(address, v, {}, 5000ms);
    ASSERT_TRUE(r && *r) << (r ? "refused" : r.error().message) << "\n" << node().all_output();
  }
  // The slow task's file is written last (FIFO by mtime): wait until every file is there.
  ASSERT_TRUE(eventually([&] { return tasks_left() == quick + 1; }, 10s, 1ms)) << tasks_left();
  ASSERT_EQ(::kill(spooler, SIGCONT), 0);
  ASSERT_TRUE(eventually([&] { return run_counts().count(slow) == 1; }, 10s, 1ms))
      << node().all_output();
  EXPECT_EQ(run_counts().size(), static_cast<std::size_t>(quick + 1)) << "the slow one ran last";
  ASSERT_GT(tasks_left(), 1u) << "the done files were set aside before the kill: shows nothing";
  node().kill_all();  // the whole node, while the slow task runs

  nodes_.clear();
  start_node({"--spooler", dir_, "--spooler-quiet"});
  ASSERT_TRUE(eventually([&] { return run_counts()[slow] == 2 && tasks_left() == 0; }, 30s, 5ms))
      << node().all_output();
  for (const auto& [id, n] : run_counts())
    EXPECT_EQ(n, 1 + (id == slow)) << "task " << id << " ran " << n << " times";
}

}  // namespace
}  // namespace brood::testing
