// os::command_fifo: creation (mode 0600), reuse of an existing FIFO, refusal of other files,
// reading pending bytes, EOF when the writers close, and reopen().
#include "brood/os/command_fifo.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace brood::os {
namespace {

class command_fifo_test : public ::testing::Test {
 protected:
  // A writer on `path` (the FIFO has a reader, so a non-blocking open succeeds).
  static unique_fd open_writer(const std::string& path) {
    return unique_fd(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  }
  static void write_all(const unique_fd& w, const std::string& bytes) {
    ASSERT_EQ(::write(w.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  // True if `fd` is readable within `ms`.
  static bool readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
  }
  static mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_mode;
  }
  command_fifo open_ok(const std::string& path) {
    auto f = command_fifo::open(path);
    EXPECT_TRUE(f) << f.error().message();
    return f ? std::move(*f) : command_fifo();
  }

  testing::temp_dir dir_{"brood_command_fifo_"};
  std::string path_ = dir_ / "fifo";
};

TEST_F(command_fifo_test, OpenCreatesAPrivateFifoReadNonBlocking) {
  const mode_t old_mask = ::umask(022);
  command_fifo f = open_ok(path_);
  ::umask(old_mask);
  ASSERT_GE(f.fd(), 0);
  EXPECT_EQ(f.path(), path_);
  EXPECT_TRUE(S_ISFIFO(mode_of(path_)));
  EXPECT_EQ(mode_of(path_) & 0777, 0600u);
  EXPECT_TRUE(::fcntl(f.fd(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(f.fd(), F_GETFD) & FD_CLOEXEC);
  EXPECT_FALSE(readable(f.fd(), 0));  // no writer yet: neither data nor EOF is signalled
}

TEST_F(command_fifo_test, AnExistingFifoIsReusedAsItIs) {
  ASSERT_EQ(::mkfifo(path_.c_str(), 0640), 0);
  command_fifo f = open_ok(path_);
  EXPECT_EQ(mode_of(path_) & 0777, 0640u);
  unique_fd w = open_writer(path_);
  ASSERT_TRUE(w);
  write_all(w, "q");
  ASSERT_TRUE(readable(f.fd(), 2000));
  EXPECT_EQ(f.read().bytes, "q");
}

TEST_F(command_fifo_test, AFileThatIsNotAFifoIsRefusedAndLeftAlone) {
  std::ofstream(path_) << "keep me";
  auto f = command_fifo::open(path_);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), std::make_error_code(std::errc::file_exists));
  EXPECT_EQ(f.error().message(), "cannot open FIFO " + path_ + ": it exists and is not a FIFO");
  std::string content;
  std::getline(std::ifstream(path_), content);
  EXPECT_EQ(content, "keep me");
  EXPECT_FALSE(command_fifo::open(dir_.path()));  // a directory
}

TEST_F(command_fifo_test, AMissingDirectoryIsAnError) {
  auto f = command_fifo::open(dir_ / "no/such/fifo");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code().value(), ENOENT);
  EXPECT_NE(f.error().message().find("cannot create FIFO " + dir_ / "no/such/fifo"),
            std::string::npos);
}

TEST_F(command_fifo_test, ReadGivesThePendingBytesInOrder) {
  command_fifo f = open_ok(path_);
  unique_fd w = open_writer(path_);
  ASSERT_TRUE(w);
  write_all(w, "+-");
  write_all(w, "q");
  ASSERT_TRUE(readable(f.fd(), 2000));
  auto r = f.read();
  EXPECT_EQ(r.bytes, "+-q");
  EXPECT_FALSE(r.eof);  // the writer is still there
  r = f.read();
  EXPECT_EQ(r.bytes, "");
  EXPECT_FALSE(r.eof);
  EXPECT_FALSE(readable(f.fd(), 0));
}

TEST_F(command_fifo_test, EofOnceTheWriterCloses) {
  command_fifo f = open_ok(path_);
  unique_fd w = open_writer(path_);
  ASSERT_TRUE(w);
  write_all(w, "r");
  w.reset();
  ASSERT_TRUE(readable(f.fd(), 2000));
  auto r = f.read();
  EXPECT_EQ(r.bytes, "r");
  EXPECT_TRUE(r.eof);
  EXPECT_TRUE(readable(f.fd(), 0));  // EOF stays signalled until reopen()
}

TEST_F(command_fifo_test, AReadReturnsAtMostTheReadLimit) {
  command_fifo f = open_ok(path_);
  unique_fd w = open_writer(path_);
  ASSERT_TRUE(w);
  write_all(w, std::string(command_fifo::read_limit + 100, 's'));
  ASSERT_TRUE(readable(f.fd(), 2000));
  EXPECT_EQ(f.read().bytes.size(), command_fifo::read_limit);
  EXPECT_EQ(f.read().bytes.size(), 100u);
}

TEST_F(command_fifo_test, ReopenWaitsForTheNextWriter) {
  command_fifo f = open_ok(path_);
  open_writer(path_).reset();  // a writer came and went
  ASSERT_TRUE(readable(f.fd(), 2000));
  ASSERT_TRUE(f.read().eof);
  ASSERT_TRUE(f.reopen(path_).ok());
  EXPECT_FALSE(readable(f.fd(), 0));
  unique_fd w = open_writer(path_);
  ASSERT_TRUE(w);
  write_all(w, "w");
  ASSERT_TRUE(readable(f.fd(), 2000));
  EXPECT_EQ(f.read().bytes, "w");
}

TEST_F(command_fifo_test, ReopenAtAnotherPathLeavesTheFirstFifo) {
  command_fifo f = open_ok(path_);
  const std::string other = dir_ / "fifo1";
  ASSERT_TRUE(f.reopen(other).ok());
  EXPECT_EQ(f.path(), other);
  EXPECT_TRUE(S_ISFIFO(mode_of(other)));
  EXPECT_TRUE(S_ISFIFO(mode_of(path_)));
  unique_fd w = open_writer(other);
  ASSERT_TRUE(w);
  write_all(w, "W");
  ASSERT_TRUE(readable(f.fd(), 2000));
  EXPECT_EQ(f.read().bytes, "W");
  // Nobody reads path_ any more: a non-blocking writer finds no reader.
  EXPECT_FALSE(open_writer(path_));
  EXPECT_EQ(errno, ENXIO);
}

TEST_F(command_fifo_test, AFailedReopenLeavesItEmpty) {
  command_fifo f = open_ok(path_);
  std::ofstream(dir_ / "plain") << "x";
  status st = f.reopen(dir_ / "plain");
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(f);
  EXPECT_EQ(f.fd(), -1);
  EXPECT_TRUE(f.read().eof);
}

TEST_F(command_fifo_test, DestructionAndReleaseLeaveTheFifo) {
  {
    command_fifo f = open_ok(path_);
    f.release_in_child();
    EXPECT_EQ(f.fd(), -1);
  }
  EXPECT_TRUE(S_ISFIFO(mode_of(path_)));
  command_fifo again = open_ok(path_);  // and it is reused
  EXPECT_GE(again.fd(), 0);
}

}  // namespace
}  // namespace brood::os
