#pragma once
// Fixture for the spooler tests (tests/spooler, and the node's spooler_master_test): a real
// temporary spool dir written with spool_store, a
// spooler_board made before any fork, and a test handler that reports every run on a pipe as
// one line "<id> <attempt> <pid>". What the handler does is chosen by the task's vars:
//   do=ok (default) | retry | retry_once | throw_once | ignore | exit_once (the process _exit()s
//   mid-task on attempt 1) | sleep (sleeps ms=N, then ok) | hang_once (sleeps 30 s on attempt 1)
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "brood/spooler/spool_store.hpp"
#include "brood/spooler/spooler.hpp"
#include "brood/wire/spool_file.hpp"
#include "eventually.hpp"
#include "node_process.hpp"
#include "temp_dir.hpp"

namespace brood::spooler::test {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::eventually;
using testing::node_process;

inline std::string var_of(const wire::spool_vars& vars, std::string_view key) {
  for (const auto& [k, v] : vars)
    if (k == key) return v;
  return {};
}

// Every run of the test handler, in order, read from a pipe with a timeout.
class run_records {
 public:
  run_records() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    read_fd_ = fds[0];
    write_fd_ = fds[1];
  }
  ~run_records() {
    ::close(read_fd_);
    ::close(write_fd_);
  }
  int write_fd() const { return write_fd_; }

  struct record {
    std::string id;
    unsigned attempt = 0;
    int pid = 0;
  };
  // The next record, nullopt after `timeout`.
  std::optional<record> next(std::chrono::milliseconds timeout = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::istringstream line(buffer_.substr(0, nl));
        buffer_.erase(0, nl + 1);
        record r;
        line >> r.id >> r.attempt >> r.pid;
        return r;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left <= 0ms) return std::nullopt;
      pollfd p{read_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(read_fd_, buf, sizeof buf);
      if (n > 0) buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  std::string buffer_;
};

// The handler every test spooler runs (in the spooler process).
inline int test_handler(const spooler::spool_task& task, int record_fd) {
  const std::string what = var_of(task.vars, "do");
  if (what == "exit_once" && task.attempt == 1) ::_exit(3);
  const std::string line = var_of(task.vars, "id") + " " + std::to_string(task.attempt) + " " +
                           std::to_string(::getpid()) + "\n";
  if (::write(record_fd, line.data(), line.size()) < 0) return -1;
  if (what == "hang_once" && task.attempt == 1) std::this_thread::sleep_for(30s);
  if (what == "sleep")
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::atoi(var_of(task.vars, "ms").c_str())));
  if (what == "retry" || (what == "retry_once" && task.attempt == 1))
    return static_cast<int>(spooler::spool_result::retry);
  if (what == "throw_once" && task.attempt == 1) throw std::runtime_error("boom");
  if (what == "ignore") return static_cast<int>(spooler::spool_result::ignore);
  return static_cast<int>(spooler::spool_result::ok);
}

// The decoded content of a task file (nullopt if it cannot be read or decoded).
inline std::optional<wire::spool_vars> read_task_vars(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  wire::spool_file_view view;
  if (!wire::decode_spool_file(wire::as_bytes(bytes), view).is_done()) return std::nullopt;
  wire::spool_vars out;
  for (const auto& v : view.vars) out.emplace_back(std::string(v.key), std::string(v.value));
  return out;
}

// The task files (uwsgi_spoolfile_on_*) directly in `dir`.
inline std::vector<std::string> task_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().starts_with(wire::spool_file_prefix))
      out.push_back(e.path().string());
  return out;
}

class spooler_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    dir_ = root_ / "spool";
    store_ = std::make_unique<spooler::spool_store>(std::vector<std::string>{dir_});
    cfg_.dirs = {dir_};
    cfg_.retry_delay = 100ms;
    cfg_.retry_max_delay = 1000ms;
    cfg_.max_attempts = 3;
  }
  void TearDown() override {
    for (auto& p : spoolers_)  // all at once: kill_all waits for every child to be gone
      if (p->pid() > 0) ::kill(-p->pid(), SIGKILL);
    for (auto& p : spoolers_) p->kill_all();
  }

  // Makes the board: `slots` slots on dir_ (call once, before start_spooler).
  void make_board(std::size_t slots = 1) {
    board_ = std::make_unique<spooler::spooler_board>(std::vector<std::string>(slots, dir_));
  }

  // Runs run_spooler for `slot` in a forked child with the test handler.
  node_process& start_spooler(std::size_t slot = 0) {
    if (!board_) make_board();
    spoolers_.push_back(std::make_unique<node_process>());
    const int fd = records_.write_fd();
    spooler::spooler_config cfg = cfg_;
    spooler::spooler_board* board = board_.get();
    const spooler::spool_store* store = store_.get();
    spoolers_.back()->start([cfg, board, store, slot, fd] {
      return spooler::run_spooler(cfg, *store, *board, slot, [fd](const spooler::spool_task& t) {
        return test_handler(t, fd);
      });
    });
    return *spoolers_.back();
  }

  // Enqueues a task with vars id=`id` plus `extra`; returns its path.
  std::string enqueue(const std::string& id, wire::spool_vars extra = {}) {
    extra.insert(extra.begin(), {"id", id});
    const spooler::spool_status s = store_->enqueue(extra, {});
    EXPECT_TRUE(s) << s.message;
    return s.path;
  }

  testing::temp_dir root_{"brood_spooler_test_"};
  std::string dir_;
  spooler::spooler_config cfg_;
  std::unique_ptr<spooler::spool_store> store_;
  std::unique_ptr<spooler::spooler_board> board_;
  run_records records_;
  std::vector<std::unique_ptr<node_process>> spoolers_;
};

}  // namespace brood::spooler::test
