#pragma once
// Shared by the os_launcher tests: an event_loop, a launcher_events recorder, a temp dir, and
// bounded waits for children.
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "brood/emperor/os_launcher.hpp"
#include "brood/os/event_loop.hpp"
#include "temp_dir.hpp"

namespace brood::emperor {

using namespace std::chrono_literals;

struct recorder : launcher_events {
  std::vector<std::pair<pid_t, std::uint8_t>> messages;
  std::map<pid_t, int> closed;
  std::vector<std::string> connections;
  std::function<void()> on_first_message;  // run once, from inside the callback

  void on_message(pid_t pid, std::uint8_t byte) override {
    messages.emplace_back(pid, byte);
    if (auto hook = std::exchange(on_first_message, nullptr)) hook();
  }
  void on_channel_closed(pid_t pid) override { ++closed[pid]; }
  void on_demand_connection(const std::string& name) override { connections.push_back(name); }
};

// Wait status of `pid` (a child of this process), or -1 when it has not exited within `limit`.
// An adopted vassal is a grandchild of the fork server: its exit can be seen on the pidfd while
// its parent (the server's middle process) has not exited yet, and it becomes this subreaper's
// child only then, so ECHILD is retried until the deadline.
inline int wait_exit(pid_t pid, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(limit.count()));
    ::close(pidfd);
  }
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno == EINTR) continue;
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    if (r < 0 && errno != ECHILD) return -1;
    ::usleep(1000);  // not yet ours (ECHILD) or not yet exited: look again
  }
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class os_launcher_test : public ::testing::Test {
 protected:
  // Runs the loop until `done` or `limit`; true when `done`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    const auto deadline = os::event_loop::clock::now() + limit;
    bool ok = false;
    os::event_loop::timer_id pending = 0;
    std::function<void()> check = [&] {
      pending = 0;
      if (done()) {
        ok = true;
        loop_.stop();
      } else if (os::event_loop::clock::now() >= deadline) {
        loop_.stop();
      } else {
        pending = loop_.after(2ms, check);
      }
    };
    pending = loop_.after(0ms, check);
    EXPECT_TRUE(loop_.run().ok());
    if (pending) loop_.cancel(pending);
    return ok;
  }

  std::unique_ptr<vassal_process> sh(const std::string& script, int stdin_fd = -1) {
    launch_spec spec;
    spec.name = "test.ini";
    spec.argv = {"/bin/sh", "-c", script};
    spec.stdin_fd = stdin_fd;
    std::error_code ec;
    auto p = launcher_.launch(spec, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_NE(p, nullptr);
    return p;
  }

  testing::temp_dir dir_{"brood-os-launcher-"};
  os::event_loop loop_;
  recorder rec_;
  os_launcher launcher_{loop_, rec_};
};

}  // namespace brood::emperor
