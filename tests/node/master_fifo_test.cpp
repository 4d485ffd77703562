// node::master_fifo over a real os::event_loop and real FIFOs: commands arrive in order, unknown
// bytes are dropped, a digit selects the slot used when the FIFO is re-created after EOF.
#include "master_fifo.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "brood/os/unique_fd.hpp"
#include "temp_dir.hpp"

namespace brood::node {
namespace {

using namespace std::chrono_literals;

class master_fifo_test : public ::testing::Test {
 protected:
  void open_fifo(std::vector<std::string> paths) {
    auto f = master_fifo::open(loop_, std::move(paths),
                               [this](fifo_command c) { received_.push_back(c); });
    ASSERT_TRUE(f) << f.error().message();
    fifo_ = std::move(*f);
  }
  // Writes `bytes` to the FIFO at `path` as one writer; it closes unless kept in writer_.
  void write_to(const std::string& path, const std::string& bytes, bool keep_open = false) {
    os::unique_fd w(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    ASSERT_TRUE(w) << "no reader on " << path;
    ASSERT_EQ(::write(w.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    if (keep_open) writer_ = std::move(w);
  }
  // Runs the loop until `done()` holds, checking every 2 ms, for at most 5 s. done()'s value.
  template <class Pred>
  bool run_until(Pred done) {
    bool timed_out = false;
    std::function<void()> check = [&] {
      if (done()) return loop_.stop();
      loop_.after(2ms, check);
    };
    loop_.after(0ms, check);
    const auto deadline = loop_.after(5s, [&] {
      timed_out = true;
      loop_.stop();
    });
    EXPECT_TRUE(loop_.run().ok());
    loop_.cancel(deadline);
    EXPECT_FALSE(timed_out);
    return done();
  }
  bool received(std::size_t n) { return received_.size() >= n; }
  // True if a writer can open `path` now (a reader has it open).
  static bool has_reader(const std::string& path) {
    os::unique_fd w(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    return static_cast<bool>(w);
  }

  testing::temp_dir dir_{"brood_master_fifo_"};
  std::string slot0_ = dir_ / "fifo0";
  std::string slot1_ = dir_ / "fifo1";
  os::event_loop loop_;
  std::unique_ptr<master_fifo> fifo_;
  std::vector<fifo_command> received_;
  os::unique_fd writer_;
};

TEST_F(master_fifo_test, CommandsOfOneWriteArriveInOrder) {
  open_fifo({slot0_});
  write_to(slot0_, "+-q", true);
  ASSERT_TRUE(run_until([&] { return received(3); }));
  EXPECT_EQ(received_,
            (std::vector<fifo_command>{fifo_command::more_workers, fifo_command::fewer_workers,
                                       fifo_command::graceful_shutdown}));
}

TEST_F(master_fifo_test, EveryLetterOfTheTableIsACommand) {
  const std::string table = "+-BcCEflLpPqQrRsSwW";
  open_fifo({slot0_});
  write_to(slot0_, table);
  ASSERT_TRUE(run_until([&] { return received(table.size()); }));
  ASSERT_EQ(received_.size(), table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(static_cast<char>(received_[i]), table[i]);
    EXPECT_NE(to_string(received_[i]), "unknown");
  }
  EXPECT_EQ(to_string(fifo_command::graceful_reload), "graceful_reload");
  EXPECT_FALSE(fifo_command_of('x'));
  EXPECT_FALSE(fifo_command_of('1'));
}

TEST_F(master_fifo_test, UnknownBytesAndNewlinesAreIgnored) {
  open_fifo({slot0_});
  write_to(slot0_, std::string("x\n\x01r\n", 5), true);
  write_to(slot0_, "w", true);  // a second writer: the first one's bytes came before
  ASSERT_TRUE(run_until([&] { return received(2); }));
  EXPECT_EQ(received_, (std::vector<fifo_command>{fifo_command::graceful_reload,
                                                  fifo_command::graceful_worker_reload}));
}

TEST_F(master_fifo_test, ADigitSelectsTheSlotUsedAfterTheWriterCloses) {
  open_fifo({slot0_, slot1_});
  EXPECT_EQ(fifo_->path(), slot0_);
  write_to(slot0_, "1");  // and closes
  ASSERT_TRUE(run_until([&] { return fifo_->path() == slot1_; }));
  EXPECT_EQ(fifo_->selected_slot(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(slot1_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_FALSE(has_reader(slot0_));  // slot 0's FIFO stays, nobody reads it
  write_to(slot1_, "Q", true);
  ASSERT_TRUE(run_until([&] { return received(1); }));
  EXPECT_EQ(received_, std::vector<fifo_command>{fifo_command::brutal_shutdown});
}

TEST_F(master_fifo_test, TheFifoIsReCreatedAfterEachWriter) {
  open_fifo({slot0_});
  for (const char* command : {"s", "P", "l"}) {
    // The next writer can open the FIFO only once the previous EOF was handled.
    ASSERT_TRUE(run_until([&] { return has_reader(slot0_); }));
    write_to(slot0_, command);
  }
  ASSERT_TRUE(run_until([&] { return received(3); }));
  EXPECT_EQ(received_,
            (std::vector<fifo_command>{fifo_command::log_stats, fifo_command::write_pidfiles,
                                       fifo_command::reopen_log}));
}

TEST_F(master_fifo_test, ADigitWithoutAPathIsIgnored) {
  open_fifo({slot0_, slot1_});
  write_to(slot0_, "5c");  // slot 5 has no path; then closes
  ASSERT_TRUE(run_until([&] { return received(1) && has_reader(slot0_); }));
  EXPECT_EQ(fifo_->selected_slot(), 0u);
  EXPECT_EQ(fifo_->path(), slot0_);
  EXPECT_EQ(received_, std::vector<fifo_command>{fifo_command::chain_reload});
  struct stat st {};
  EXPECT_NE(::stat(slot1_.c_str(), &st), 0);  // never created
}

TEST_F(master_fifo_test, TheHandlerMayDestroyTheFifo) {
  auto f = master_fifo::open(loop_, {slot0_}, [this](fifo_command c) {
    received_.push_back(c);
    fifo_.reset();
  });
  ASSERT_TRUE(f) << f.error().message();
  fifo_ = std::move(*f);
  write_to(slot0_, "q+", true);
  ASSERT_TRUE(run_until([&] { return fifo_ == nullptr; }));
  EXPECT_EQ(received_, std::vector<fifo_command>{fifo_command::graceful_shutdown});
}

TEST_F(master_fifo_test, OpenErrors) {
  auto none = master_fifo::open(loop_, {}, [](fifo_command) {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "master FIFO: no path");
  auto many = master_fifo::open(loop_, std::vector<std::string>(11, slot0_), [](fifo_command) {});
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().code(), std::make_error_code(std::errc::invalid_argument));
  std::ofstream(slot0_) << "not a fifo";
  auto file = master_fifo::open(loop_, {slot0_}, [](fifo_command) {});
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message(),
            "master FIFO: cannot open FIFO " + slot0_ + ": it exists and is not a FIFO");
}

TEST_F(master_fifo_test, ReleaseInChildClosesOnlyTheFd) {
  open_fifo({slot0_});
  fifo_->release_in_child();
  EXPECT_EQ(fifo_->fd(), -1);
  struct stat st {};
  EXPECT_EQ(::stat(slot0_.c_str(), &st), 0);
  fifo_.reset();
}

}  // namespace
}  // namespace brood::node
