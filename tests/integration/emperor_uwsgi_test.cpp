// Interop: real uWSGI 2.0.21's emperor runs a brood vassal (`uwsgi --emperor DIR
// --emperor-wrapper brood`). The vassal answers a ping, uWSGI logs it as spawned, accepting and
// loyal; touching the ini reloads it over the control channel (byte 1) without a failed ping;
// removing the ini stops it (byte 0). uWSGI is killed with SIGKILL at the end (SIGTERM makes it
// reload) and every process is reaped. Skipped when uwsgi is not installed.
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "brood/wire/header.hpp"
#include "brood/wire/modifier.hpp"
#include "eventually.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono;

constexpr const char* uwsgi_binary = "/usr/bin/uwsgi";

class emperor_uwsgi_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(uwsgi_binary, X_OK) != 0) GTEST_SKIP() << "uwsgi is not installed";
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);  // the vassals are reaped here at the end
    address_ = dead_address();  // a free loopback port, for the vassal to bind
    ini_ = dir_ / "brood.ini";
  }
  void TearDown() override {
    emperor_.reset();     // SIGKILL to uWSGI's process group (its vassals are in it), reaped
    reap_all_children();  // orphaned brood masters and workers
  }

  void write_ini() {
    std::ofstream(ini_) << "[uwsgi]\nsocket = " << address_ << "\nprocesses = 2\n";
  }
  void start_emperor() {
    emperor_ = std::make_unique<node_process>(
        uwsgi_binary, std::vector<std::string>{"--emperor", dir_.path(), "--emperor-freq", "1",
                                               "--emperor-wrapper", BROOD_BINARY});
  }
  bool logged(const std::string& text, milliseconds timeout = 10s) {
    return emperor_->wait_for_line(std::regex(text), timeout).has_value();
  }
  std::size_t count(const std::string& text) { return emperor_->count_lines(std::regex(text)); }

  temp_dir dir_{"brood_emperor_"};
  fs::path ini_;
  std::string address_;
  std::unique_ptr<node_process> emperor_;
};

TEST_F(emperor_uwsgi_test, RunsReloadsAndStopsABroodVassal) {
  write_ini();
  start_emperor();
  ASSERT_TRUE(logged(R"(\[emperor\] vassal brood\.ini has been spawned)"))
      << emperor_->all_output();
  ASSERT_TRUE(logged(R"(\[emperor\] vassal brood\.ini is ready to accept requests)"))
      << emperor_->all_output();
  ASSERT_TRUE(ping_ok(address_)) << emperor_->all_output();
  ASSERT_TRUE(logged(R"(\[emperor\] vassal brood\.ini is now loyal)")) << emperor_->all_output();
  const auto first = emperor_->worker_pids();
  ASSERT_EQ(first.size(), 2u) << emperor_->all_output();

  // Touch: uWSGI compares whole seconds, so move the mtime clearly forward.
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread pinger([&] {
    while (!done) (ping_ok(address_) ? ok : failed)++;
  });
  fs::last_write_time(ini_, fs::last_write_time(ini_) + 5s);
  EXPECT_TRUE(logged(R"(\[emperor\] reload the uwsgi instance brood\.ini)"))
      << emperor_->all_output();
  EXPECT_TRUE(logged(R"(workers reloaded \(reload 1\))")) << emperor_->all_output();
  const auto spawned = R"(\[emperor\] vassal brood\.ini has been spawned)";
  // ready (byte 1) again after the reload
  eventually([&] { return count(spawned) >= 2; }, 5s);
  EXPECT_EQ(count(spawned), 2u) << emperor_->all_output();
  const int answered = ok.load();  // and pings go on being answered after it
  EXPECT_TRUE(eventually([&] { return ok.load() >= answered + 10 || failed.load() > 0; }));
  done = true;
  pinger.join();
  EXPECT_EQ(failed.load(), 0) << "of " << ok.load() + failed.load() << "\n"
                              << emperor_->all_output();
  EXPECT_GT(ok.load(), 10);
  const auto now = emperor_->worker_pids();
  ASSERT_EQ(now.size(), 4u) << emperor_->all_output();
  EXPECT_EQ(std::set<pid_t>(first.begin(), first.end()).count(now[2]), 0u);
  EXPECT_TRUE(ping_ok(address_));

  // Remove: the emperor stops the vassal (byte 0) and the port is closed.
  fs::remove(ini_);
  EXPECT_TRUE(logged(R"(\[emperor\] stop the uwsgi instance brood\.ini)"))
      << emperor_->all_output();
  EXPECT_TRUE(logged(R"(\[emperor\] removed uwsgi instance brood\.ini)")) << emperor_->all_output();
  EXPECT_FALSE(ping_ok(address_));
}

}  // namespace
}  // namespace brood::testing
