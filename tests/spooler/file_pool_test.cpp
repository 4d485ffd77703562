// The file pool on the real filesystem (file_pool.hpp): a done file set aside by the spooler's
// side (under a hidden name in the spool dir itself, which no scanner reads) is reused, same
// inode, for a later task's file once the ripener handed it over; so is one an earlier version
// set aside in DIR/.brood_pool/; only the writer holding the taker lock reuses, and a quiet one
// gives it up; a file with another link is never written through; without a pool a done file is
// removed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "brood/os/unique_fd.hpp"
#include "file_pool.hpp"
#include "spool_scan.hpp"
#include "task_log_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::spooler {
namespace {

using namespace testing_log;

std::string read_all_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// The pooled files of `dir` (paths), in the dir itself.
std::vector<std::string> pooled_in(const std::string& dir) {
  std::vector<std::string> out;
  if (auto names = posix_log_env().list_dir(dir)) {
    for (const std::string& n : *names)
      if (n.starts_with(pooled_prefix)) out.push_back(dir + "/" + n);
  }
  return out;
}

// Writes tasks t<i> through `pool` until one lands on inode `ino` (bounded: wait_for's time);
// true when one did. Each file must hold exactly its task's bytes.
bool writes_reach_inode(file_pool& pool, const std::string& dir, ino_t ino, std::string tag) {
  int i = 0;
  return wait_for([&] {
    const std::string n = "uwsgi_spoolfile_on_" + tag + std::to_string(i++);
    const wire::bytes data = task_file(n, 40);
    EXPECT_TRUE(pool.write_file(dir, ".brood_tmp_" + n, n, data).ok());
    EXPECT_EQ(read_all_of(dir + "/" + n), std::string(data.begin(), data.end()));
    return inode_of(dir + "/" + n) == ino;
  });
}

class file_pool_test : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::mkdir(pool_dir_of(dir()).c_str(), 0750), 0); }
  const std::string& dir() const { return dir_.path(); }
  // A done task's file at `name`, written and held open as the spooler's claim holds it.
  os::unique_fd done_file(const std::string& name, const std::string& bytes) {
    std::ofstream(dir() + "/" + name, std::ios::binary) << bytes;
    return os::unique_fd(::open((dir() + "/" + name).c_str(), O_RDWR | O_CLOEXEC));
  }

  testing::temp_dir dir_{"brood_file_pool_"};
};

TEST_F(file_pool_test, a_done_file_is_reused_for_a_later_task_same_inode) {
  os::unique_fd fd = done_file("uwsgi_spoolfile_on_done", std::string(300, 'd'));
  const ino_t ino = inode_of(dir() + "/uwsgi_spoolfile_on_done");
  const retired r = retire_done_file(dir(), dir() + "/uwsgi_spoolfile_on_done", fd.get());
  EXPECT_TRUE(r.pooled);
  EXPECT_EQ(r.err, 0);
  EXPECT_NE(::access((dir() + "/uwsgi_spoolfile_on_done").c_str(), F_OK), 0);
  fd.reset();

  file_pool pool(posix_log_env(), dir());
  // The first writes find nothing ripe (new files); the ripener then hands the done file over.
  int i = 0;
  ino_t reused_ino = 0;
  ASSERT_TRUE(wait_for([&] {
    const std::string n = "uwsgi_spoolfile_on_t" + std::to_string(i++);
    const wire::bytes data = task_file(n, 40);
    EXPECT_TRUE(pool.write_file(dir(), ".brood_tmp_" + n, n, data).ok());
    EXPECT_EQ(read_all_of(dir() + "/" + n), std::string(data.begin(), data.end()));
    if (inode_of(dir() + "/" + n) == ino) reused_ino = ino;
    return reused_ino != 0;
  }));
  EXPECT_GE(pool.reused(), 1u);
  // The 300-byte done file was cut to the new task's size.
  const std::string last = "uwsgi_spoolfile_on_t" + std::to_string(i - 1);
  EXPECT_EQ(read_all_of(dir() + "/" + last).size(), task_file(last, 40).size());
}

// A done file is set aside in the spool dir itself (a rename within one directory), under a
// name that brood's scan and watch do not take for a task (uWSGI's scan reads only
// uwsgi_spoolfile_on_* names too: checked with uWSGI 2.0.21, bench/RESULTS.md).
TEST_F(file_pool_test, a_done_file_is_set_aside_under_a_hidden_name_in_the_dir_itself) {
  os::unique_fd fd = done_file("uwsgi_spoolfile_on_done", "done bytes");
  const ino_t ino = inode_of(dir() + "/uwsgi_spoolfile_on_done");
  ASSERT_TRUE(retire_done_file(dir(), dir() + "/uwsgi_spoolfile_on_done", fd.get()).pooled);
  const std::vector<std::string> pooled = pooled_in(dir());
  ASSERT_EQ(pooled.size(), 1u);
  EXPECT_EQ(inode_of(pooled.front()), ino);
  auto old_pool = posix_log_env().list_dir(pool_dir_of(dir()));
  ASSERT_TRUE(old_pool);
  EXPECT_TRUE(old_pool->empty());
  const std::string name = pooled.front().substr(dir().size() + 1);
  EXPECT_FALSE(is_task_name(name));
  const scan_result found = scan_spool_dir(dir());
  EXPECT_TRUE(found.files.empty());
  EXPECT_TRUE(found.removed_temps.empty());
}

// A file an earlier version set aside in DIR/.brood_pool/ is still reused.
TEST_F(file_pool_test, a_file_an_earlier_version_pooled_in_its_pool_dir_is_reused) {
  const std::string old = pool_dir_of(dir()) + "/" + pool_name("", 1, 7);
  std::ofstream(old, std::ios::binary) << std::string(200, 'o');
  const ino_t ino = inode_of(old);
  file_pool pool(posix_log_env(), dir());
  EXPECT_TRUE(writes_reach_inode(pool, dir(), ino, "t"));
  EXPECT_NE(::access(old.c_str(), F_OK), 0);
}

// Two writers of one dir (two nodes): only the one holding the taker lock reuses pooled files
// (it writes them where they lie); the other writes new files until the first one goes.
TEST_F(file_pool_test, only_the_writer_holding_the_taker_lock_reuses_pooled_files) {
  os::unique_fd fd = done_file("uwsgi_spoolfile_on_done", "d");
  const ino_t ino = inode_of(dir() + "/uwsgi_spoolfile_on_done");
  ASSERT_TRUE(retire_done_file(dir(), dir() + "/uwsgi_spoolfile_on_done", fd.get()).pooled);
  fd.reset();
  auto first = std::make_unique<file_pool>(posix_log_env(), dir());
  file_pool second(posix_log_env(), dir());
  ASSERT_TRUE(writes_reach_inode(*first, dir(), ino, "a"));  // the first took the lock
  for (int i = 0; i < 200; ++i) {
    const std::string n = "uwsgi_spoolfile_on_b" + std::to_string(i);
    ASSERT_TRUE(second.write_file(dir(), ".brood_tmp_" + n, n, task_file(n, 40)).ok());
  }
  EXPECT_EQ(second.reused(), 0u);
  first.reset();  // its lock goes with it
  EXPECT_TRUE(wait_for([&] {
    const std::string n = "uwsgi_spoolfile_on_c" + std::to_string(second.reused());
    EXPECT_TRUE(second.write_file(dir(), ".brood_tmp_" + n, n, task_file(n, 40)).ok());
    return second.reused() > 0;
  }));
}

// A writer that takes no pooled file for its idle_release gives the taker lock up: a process
// whose pool served only a recovery does not keep the dir's pool from the node's master.
TEST_F(file_pool_test, a_quiet_writer_gives_the_taker_lock_up) {
  os::unique_fd fd = done_file("uwsgi_spoolfile_on_done", "d");
  const ino_t ino = inode_of(dir() + "/uwsgi_spoolfile_on_done");
  ASSERT_TRUE(retire_done_file(dir(), dir() + "/uwsgi_spoolfile_on_done", fd.get()).pooled);
  fd.reset();
  file_pool quiet(posix_log_env(), dir(), std::chrono::milliseconds(100));
  ASSERT_TRUE(writes_reach_inode(quiet, dir(), ino, "q"));  // it has the lock
  file_pool busy(posix_log_env(), dir());
  int i = 0;
  EXPECT_TRUE(wait_for([&] {
    const std::string n = "uwsgi_spoolfile_on_b" + std::to_string(i++);
    EXPECT_TRUE(busy.write_file(dir(), ".brood_tmp_" + n, n, task_file(n, 40)).ok());
    return busy.reused() > 0;
  }));
}

// reuse_file() sets the size to the new content's, whether the old content was longer,
// shorter or as long (only a longer one needs a truncate); taken by a rename to a temp name or
// written where it lies (an empty temp name).
TEST_F(file_pool_test, a_reused_file_holds_exactly_the_new_content_whatever_its_old_size) {
  int n = 0;
  for (const std::string temp : {".brood_tmp_x", ""}) {
    for (const std::size_t old_size : {300u, 10u, 163u}) {
      const std::string name = "uwsgi_spoolfile_on_done" + std::to_string(n++);
      os::unique_fd fd = done_file(name, std::string(old_size, 'o'));
      ASSERT_TRUE(retire_done_file(dir(), dir() + "/" + name, fd.get()).pooled);
      fd.reset();
      const std::vector<std::string> pooled = pooled_in(dir());
      ASSERT_EQ(pooled.size(), 1u);
      const std::string fresh = "uwsgi_spoolfile_on_new" + std::to_string(n);
      const std::string data(163, 'n');
      ASSERT_TRUE(
          posix_log_env()
              .reuse_file(pooled.front(), dir(), temp, fresh, wire::bytes(data.begin(), data.end()))
              .ok());
      EXPECT_EQ(read_all_of(dir() + "/" + fresh), data) << "old size " << old_size;
      EXPECT_TRUE(pooled_in(dir()).empty());
    }
  }
}

TEST_F(file_pool_test, a_pooled_file_with_another_link_is_not_written_through) {
  for (const std::string temp : {".brood_tmp_new", ""}) {
    os::unique_fd fd = done_file("uwsgi_spoolfile_on_done", "old bytes");
    ASSERT_TRUE(retire_done_file(dir(), dir() + "/uwsgi_spoolfile_on_done", fd.get()).pooled);
    const std::vector<std::string> pooled = pooled_in(dir());
    ASSERT_EQ(pooled.size(), 1u);
    // A crash brought the done task's name back: two links.
    ASSERT_EQ(::link(pooled.front().c_str(), (dir() + "/uwsgi_spoolfile_on_done").c_str()), 0);
    const wire::bytes data = task_file("uwsgi_spoolfile_on_new");
    const os::status s =
        posix_log_env().reuse_file(pooled.front(), dir(), temp, "uwsgi_spoolfile_on_new", data);
    EXPECT_EQ(s.code().value(), ENOENT) << s.message();
    EXPECT_EQ(read_all_of(dir() + "/uwsgi_spoolfile_on_done"), "old bytes");
    EXPECT_NE(::access((dir() + "/uwsgi_spoolfile_on_new").c_str(), F_OK), 0);
    EXPECT_NE(::access((dir() + "/.brood_tmp_new").c_str(), F_OK), 0);
    EXPECT_TRUE(pooled_in(dir()).empty());
    ASSERT_EQ(::unlink((dir() + "/uwsgi_spoolfile_on_done").c_str()), 0);
  }
}

TEST_F(file_pool_test, the_spooler_removes_what_it_cannot_pool) {
  // A file with two links is removed, not pooled.
  os::unique_fd fd = done_file("uwsgi_spoolfile_on_a", "a");
  ASSERT_EQ(::link((dir() + "/uwsgi_spoolfile_on_a").c_str(), (dir() + "/other").c_str()), 0);
  retired r = retire_done_file(dir(), dir() + "/uwsgi_spoolfile_on_a", fd.get());
  EXPECT_FALSE(r.pooled);
  EXPECT_EQ(r.err, 0);
  EXPECT_NE(::access((dir() + "/uwsgi_spoolfile_on_a").c_str(), F_OK), 0);
  // No pool dir (a dir without a task log): removed.
  ASSERT_EQ(::rmdir(pool_dir_of(dir()).c_str()), 0);
  fd = done_file("uwsgi_spoolfile_on_b", "b");
  r = retire_done_file(dir(), dir() + "/uwsgi_spoolfile_on_b", fd.get());
  EXPECT_FALSE(r.pooled);
  EXPECT_EQ(r.err, 0);
  EXPECT_NE(::access((dir() + "/uwsgi_spoolfile_on_b").c_str(), F_OK), 0);
  // Already gone: ENOENT.
  r = retire_done_file(dir(), dir() + "/uwsgi_spoolfile_on_b", fd.get());
  EXPECT_EQ(r.err, ENOENT);
}

}  // namespace
}  // namespace brood::spooler
