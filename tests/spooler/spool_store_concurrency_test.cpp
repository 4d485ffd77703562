// Concurrent producers on one spool store: threads of one process and forked processes. Every
// enqueue gets a distinct name (a collision would silently replace a task) and a valid file.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "sanitizers.hpp"
#include "spool_store_fixture.hpp"

namespace brood::spooler {
namespace {

using namespace testing_spool;

class spool_store_concurrency_test : public spool_store_fixture {
 protected:
  void SetUp() override {
    spool_store_fixture::SetUp();
    dir_ = under("spool");
  }
  // Every file in dir_ decodes; returns the set of "<producer>/<i>" they carry.
  std::set<std::string> tasks_on_disk() {
    std::set<std::string> seen;
    for (const std::string& name : entries(dir_)) {
      EXPECT_EQ(name.rfind("uwsgi_spoolfile_on_", 0), 0u) << name;
      const decoded_task t = decode_task_file(dir_ + "/" + name);
      EXPECT_TRUE(t.ok && t.checksummed) << name << ": " << t.why;
      if (t.ok && t.vars.size() == 2) seen.insert(t.vars[0].second + "/" + t.vars[1].second);
    }
    return seen;
  }
  static std::set<std::string> expected(int producers, int per) {
    std::set<std::string> all;
    for (int p = 0; p < producers; ++p) {
      for (int i = 0; i < per; ++i) all.insert(std::to_string(p) + "/" + std::to_string(i));
    }
    return all;
  }

  std::string dir_;
};

TEST_F(spool_store_concurrency_test, EightThreads) {
  const spooler::spool_store store({dir_});
  constexpr int threads = 8, per = 50;
  std::vector<std::set<std::string>> paths(threads);
  std::vector<std::thread> pool;
  for (int p = 0; p < threads; ++p) {
    pool.emplace_back([&, p] {
      for (int i = 0; i < per; ++i) {
        const spooler::spool_status s =
            store.enqueue({{"producer", std::to_string(p)}, {"i", std::to_string(i)}}, "b");
        if (s) paths[p].insert(s.path);
      }
    });
  }
  for (auto& t : pool) t.join();
  std::set<std::string> all;
  for (const auto& ps : paths) all.insert(ps.begin(), ps.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * per));
  EXPECT_EQ(entries(dir_).size(), static_cast<std::size_t>(threads * per));
  EXPECT_EQ(tasks_on_disk(), expected(threads, per));
}

TEST_F(spool_store_concurrency_test, TwoForkedProcesses) {
  // The parent uses the name generator first: the children inherit its state and must reseed.
  // Its first task opens the dir's task log, whose checkpointer thread runs at the fork (the
  // children find the parent's log and open their own). Under ASan that fork can deadlock a child
  // (sanitizers.hpp): there the first task goes through a store gone (threads joined) by the fork.
  if (BROOD_TEST_ASAN) {
    ASSERT_TRUE(spooler::spool_store({dir_}).enqueue({{"producer", "2"}, {"i", "0"}}, {}));
  }
  const spooler::spool_store store({dir_});
  if (!BROOD_TEST_ASAN) ASSERT_TRUE(store.enqueue({{"producer", "2"}, {"i", "0"}}, {}));
  constexpr int per = 100;
  std::vector<pid_t> kids;
  for (int p = 0; p < 2; ++p) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int failures = 0;
      for (int i = 0; i < per; ++i) {
        failures += !store.enqueue({{"producer", std::to_string(p)}, {"i", std::to_string(i)}}, {});
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    kids.push_back(pid);
  }
  for (const pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  std::set<std::string> want = expected(2, per);
  want.insert("2/0");
  EXPECT_EQ(entries(dir_).size(), want.size());
  EXPECT_EQ(tasks_on_disk(), want);
}

}  // namespace
}  // namespace brood::spooler
