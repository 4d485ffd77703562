// The file pool on the real filesystem (file_pool.hpp): a done file set aside by the spooler's
// side is reused, same inode, for a later task's file once the ripener handed it over; a file
// with another link is never written through; without a pool a done file is removed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "brood/os/unique_fd.hpp"
#include "file_pool.hpp"
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

// reuse_file() sets the size to the new content's, whether the old content was longer,
// shorter or as long (only a longer one needs a truncate).
TEST_F(file_pool_test, a_reused_file_holds_exactly_the_new_content_whatever_its_old_size) {
  int n = 0;
  for (const std::size_t old_size : {300u, 10u, 163u}) {
    const std::string name = "uwsgi_spoolfile_on_done" + std::to_string(n++);
    os::unique_fd fd = done_file(name, std::string(old_size, 'o'));
    ASSERT_TRUE(retire_done_file(dir(), dir() + "/" + name, fd.get()).pooled);
    fd.reset();
    auto names = posix_log_env().list_dir(pool_dir_of(dir()));
    ASSERT_TRUE(names);
    ASSERT_EQ(names->size(), 1u);
    const std::string fresh = "uwsgi_spoolfile_on_new" + std::to_string(n);
    const std::string data(163, 'n');
    ASSERT_TRUE(posix_log_env()
                    .reuse_file(pool_dir_of(dir()) + "/" + names->front(), dir(), ".brood_tmp_x",
                                fresh, wire::bytes(data.begin(), data.end()))
                    .ok());
    EXPECT_EQ(read_all_of(dir() + "/" + fresh), data) << "old size " << old_size;
  }
}

TEST_F(file_pool_test, a_pooled_file_with_another_link_is_not_written_through) {
  os::unique_fd fd = done_file("uwsgi_spoolfile_on_done", "old bytes");
  ASSERT_TRUE(retire_done_file(dir(), dir() + "/uwsgi_spoolfile_on_done", fd.get()).pooled);
  auto names = posix_log_env().list_dir(pool_dir_of(dir()));
  ASSERT_TRUE(names);
  ASSERT_EQ(names->size(), 1u);
  const std::string pooled = pool_dir_of(dir()) + "/" + names->front();
  // A crash brought the done task's name back: two links.
  ASSERT_EQ(::link(pooled.c_str(), (dir() + "/uwsgi_spoolfile_on_done").c_str()), 0);
  const wire::bytes data = task_file("uwsgi_spoolfile_on_new");
  const os::status s =
      posix_log_env().reuse_file(pooled, dir(), ".brood_tmp_new", "uwsgi_spoolfile_on_new", data);
  EXPECT_EQ(s.code().value(), ENOENT) << s.message();
  EXPECT_EQ(read_all_of(dir() + "/uwsgi_spoolfile_on_done"), "old bytes");
  EXPECT_NE(::access((dir() + "/uwsgi_spoolfile_on_new").c_str(), F_OK), 0);
  EXPECT_NE(::access((dir() + "/.brood_tmp_new").c_str(), F_OK), 0);
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
