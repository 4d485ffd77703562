// The answered rounds' spool files (log_materializer.hpp): a file write that takes long (held
// here) does not hold the log thread: the next round is committed and answered meanwhile, by the
// helper thread writing the held file while the log thread goes on; the files all appear once
// released, and a cut after that loses no acknowledged task.
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "fault_env.hpp"
#include "log_server.hpp"
#include "task_log.hpp"
#include "task_log_fixture.hpp"

namespace brood::spooler {
namespace {

using testing_log::task_file;

// A fault_env whose spool file writes into one dir wait while the gate is held.
class gated_env final : public log_env {
 public:
  gated_env(fault_env& inner, std::string dir) : inner_(inner), dir_(std::move(dir)) {}

  void hold(bool h) {
    std::lock_guard lock(mu_);
    held_ = h;
    cv_.notify_all();
  }
  int waiting() const {
    std::lock_guard lock(mu_);
    return waiting_;
  }

  os::status create_file(const std::string& path, std::uint64_t size) override {
    return inner_.create_file(path, size);
  }
  os::result<std::unique_ptr<log_file>> open_file(const std::string& path) override {
    return inner_.open_file(path);
  }
  os::status write_file(const std::string& dir, const std::string& temp_name,
                        const std::string& final_name, wire::bytes_view data) override {
    pass(dir);
    return inner_.write_file(dir, temp_name, final_name, data);
  }
  os::status reuse_file(const std::string& reuse, const std::string& dir,
                        const std::string& temp_name, const std::string& final_name,
                        wire::bytes_view data) override {
    pass(dir);
    return inner_.reuse_file(reuse, dir, temp_name, final_name, data);
  }
  os::status read_file(const std::string& path, wire::bytes& out) override {
    return inner_.read_file(path, out);
  }
  bool exists(const std::string& path) override { return inner_.exists(path); }
  os::status remove_file(const std::string& path) override { return inner_.remove_file(path); }
  os::result<std::vector<std::string>> list_dir(const std::string& dir) override {
    return inner_.list_dir(dir);
  }
  os::status make_dir(const std::string& path) override { return inner_.make_dir(path); }
  os::status sync_file(const std::string& path) override { return inner_.sync_file(path); }
  os::status sync_dir(const std::string& dir) override { return inner_.sync_dir(dir); }
  os::status sync_fs(const std::string& dir) override { return inner_.sync_fs(dir); }
  os::result<std::unique_ptr<log_lock>> try_lock(const std::string& path) override {
    return inner_.try_lock(path);
  }

 private:
  void pass(const std::string& dir) {
    if (dir != dir_) return;  // the pool's own files
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.wait(lock, [&] { return !held_; });
    --waiting_;
  }

  fault_env& inner_;
  const std::string dir_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  int waiting_ = 0;
};

class log_materializer_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(inner_.make_dir("/spool").ok());
    start();
  }
  void TearDown() override {
    env_.hold(false);
    stop();
  }
  void start() {
    auto l = task_log::open(env_, "/spool");
    ASSERT_TRUE(l) << l.error().message();
    log_ = std::move(*l);
    auto s = log_server::start([this](std::size_t d) { return d == 0 ? log_.get() : nullptr; }, {});
    ASSERT_TRUE(s) << s.error().message();
    server_ = std::move(*s);
  }
  void stop() {
    server_.reset();
    log_.reset();
  }
  // Sends the op-2 request of task `n` (the server writes its file after its answer) on `fd`.
  static void send_task(int fd, const std::string& n) {
    wire::bytes req;
    log_client::encode_request(req, 0, n, task_file(n), true);
    EXPECT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  }
  static std::string name(int i) { return "uwsgi_spoolfile_on_h_5_" + std::to_string(i); }

  fault_env inner_{11};
  gated_env env_{inner_, "/spool"};
  std::unique_ptr<task_log> log_;
  std::unique_ptr<log_server> server_;
};

TEST_F(log_materializer_test, a_held_file_write_does_not_hold_the_next_rounds_answer) {
  // Each commit takes 200 ms: the second task arrives while the first one's commit syncs, so it
  // is read by the next round, after the first round's answer.
  // Both connections are accepted first (a round of their own).
  inner_.set_sync_delay(std::chrono::milliseconds(200));
  env_.hold(true);
  os::unique_fd first = log_client::connect_to(server_->name());
  os::unique_fd second = log_client::connect_to(server_->name());
  ASSERT_TRUE(first && second);
  const std::uint64_t pwrites = inner_.pwrites();
  send_task(first.get(), name(1));
  ASSERT_TRUE(testing_log::wait_for([&] { return inner_.pwrites() > pwrites; }));
  send_task(second.get(), name(2));
  const auto a = testing_log::read_answers(first.get(), 1);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_TRUE(a[0]) << a[0].error().message();
  // The first file's write is held; the second task is committed and answered meanwhile.
  pollfd p{second.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 5000), 1) << "the next round waited for the last round's file";
  // (The second file's write may be held by now as well.)
  EXPECT_GE(env_.waiting(), 1) << "the first file's write is still held";
  EXPECT_FALSE(inner_.exists("/spool/" + name(1)));
  env_.hold(false);
  const auto b = testing_log::read_answers(second.get(), 1);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_TRUE(b[0]) << b[0].error().message();
  for (int i : {1, 2}) {
    EXPECT_TRUE(testing_log::wait_for([&] { return inner_.exists("/spool/" + name(i)); })) << i;
    EXPECT_EQ(testing_log::content_of(inner_, "/spool/" + name(i)), task_file(name(i)));
  }
  // A power cut now: both acknowledged tasks come back.
  inner_.cut_now();
  stop();
  inner_.reboot();
  start();
  for (int i : {1, 2})
    EXPECT_EQ(testing_log::content_of(inner_, "/spool/" + name(i)), task_file(name(i))) << i;
}

}  // namespace
}  // namespace brood::spooler
