// The fault-injecting env (fault_env.hpp): what survives a power cut, failures, locks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "fault_env.hpp"

namespace brood::spooler {
namespace {

std::string read(fault_env& env, const std::string& path) {
  wire::bytes b;
  if (!env.read_file(path, b).ok()) return "<missing>";
  return std::string(wire::as_chars(b));
}

class fault_env_test : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env.make_dir("/d").ok()); }
  fault_env env{7};
};

TEST_F(fault_env_test, unsynced_new_file_never_survives_whole_unless_synced) {
  ASSERT_TRUE(env.write_file("/d", ".tmp", "f", wire::as_bytes("hello")).ok());
  EXPECT_EQ(read(env, "/d/f"), "hello");
  ASSERT_TRUE(env.sync_dir("/d").ok());  // the name is durable, the content is not
  env.reboot();
  const std::string got = read(env, "/d/f");
  EXPECT_TRUE(std::string("hello").starts_with(got)) << got;
  EXPECT_FALSE(env.exists("/d/.tmp"));
}

TEST_F(fault_env_test, sync_fs_makes_names_and_contents_durable) {
  ASSERT_TRUE(env.write_file("/d", ".tmp", "f", wire::as_bytes("hello")).ok());
  ASSERT_TRUE(env.sync_fs("/d").ok());
  ASSERT_TRUE(env.remove_file("/d/f").ok());
  env.reboot();
  // The removal was not synced: either outcome; the content, if there, is whole.
  const std::string got = read(env, "/d/f");
  EXPECT_TRUE(got == "hello" || got == "<missing>") << got;
}

TEST_F(fault_env_test, cuts_lose_or_tear_unsynced_pwrites_only) {
  int lost = 0, whole = 0, torn = 0;
  for (int round = 0; round < 60; ++round) {
    const std::string p = "/d/seg" + std::to_string(round);
    ASSERT_TRUE(env.create_file(p, 16).ok());
    auto f = env.open_file(p);
    ASSERT_TRUE(f);
    ASSERT_TRUE((*f)->pwrite(0, wire::as_bytes("abcd")).ok());
    ASSERT_TRUE((*f)->datasync().ok());
    ASSERT_TRUE((*f)->pwrite(4, wire::as_bytes("efgh")).ok());
    f->reset();
    env.reboot();
    const std::string got = read(env, p);
    ASSERT_EQ(got.size(), 16U);  // created durable, preallocated: the size never changes
    ASSERT_EQ(got.substr(0, 4), "abcd");
    const std::string tail = got.substr(4, 4);
    if (tail == std::string(4, '\0')) {
      ++lost;
    } else if (tail == "efgh") {
      ++whole;
    } else {
      ASSERT_TRUE(tail.find_first_of(std::string(1, '\0')) != std::string::npos) << tail;
      ++torn;
    }
  }
  EXPECT_GT(lost, 0);
  EXPECT_GT(whole, 0);
  EXPECT_GT(torn, 0);
}

TEST_F(fault_env_test, name_changes_since_the_dir_sync_may_be_lost_in_order) {
  int kept_both = 0, kept_none = 0;
  for (int round = 0; round < 40; ++round) {
    const std::string a = "a" + std::to_string(round), b = "b" + std::to_string(round);
    ASSERT_TRUE(env.write_file("/d", ".t", a, wire::as_bytes("1")).ok());
    ASSERT_TRUE(env.write_file("/d", ".t", b, wire::as_bytes("2")).ok());
    env.reboot();
    const bool has_a = env.exists("/d/" + a), has_b = env.exists("/d/" + b);
    EXPECT_FALSE(has_b && !has_a);  // a prefix of the changes, in order
    kept_both += has_a && has_b;
    kept_none += !has_a && !has_b;
  }
  EXPECT_GT(kept_both, 0);
  EXPECT_GT(kept_none, 0);
}

TEST_F(fault_env_test, cut_after_turns_the_power_off_at_that_call) {
  ASSERT_TRUE(env.create_file("/d/s", 8).ok());
  auto f = env.open_file("/d/s");
  ASSERT_TRUE(f);
  env.cut_after(1);
  EXPECT_TRUE((*f)->pwrite(0, wire::as_bytes("x")).ok());
  const os::status s = (*f)->datasync();
  EXPECT_EQ(s.code(), std::error_code(EIO, std::system_category()));
  EXPECT_TRUE(env.is_off());
  EXPECT_FALSE(env.write_file("/d", ".t", "n", wire::as_bytes("x")).ok());
  f->reset();
  env.reboot();
  EXPECT_FALSE(env.is_off());
  EXPECT_EQ(env.datasyncs(), 0U);
}

TEST_F(fault_env_test, injected_failures_have_no_effect) {
  env.inject(fault_op::write_file, ENOSPC);
  const os::status s = env.write_file("/d", ".t", "f", wire::as_bytes("x"));
  EXPECT_EQ(s.code(), std::error_code(ENOSPC, std::system_category()));
  EXPECT_NE(s.message().find("No space left"), std::string::npos);
  EXPECT_FALSE(env.exists("/d/f"));
  EXPECT_TRUE(env.write_file("/d", ".t", "f", wire::as_bytes("x")).ok());  // once only
}

TEST_F(fault_env_test, locks_are_exclusive_until_released_or_reboot) {
  auto l1 = env.try_lock("/d/l");
  ASSERT_TRUE(l1);
  auto l2 = env.try_lock("/d/l");
  ASSERT_FALSE(l2);
  EXPECT_EQ(l2.error().code(), std::error_code(EWOULDBLOCK, std::system_category()));
  l1->reset();
  EXPECT_TRUE(env.try_lock("/d/l"));
}

TEST_F(fault_env_test, list_dir_shows_files_and_subdirs) {
  ASSERT_TRUE(env.make_dir("/d/5").ok());
  ASSERT_TRUE(env.write_file("/d", ".t", "f", wire::as_bytes("x")).ok());
  ASSERT_TRUE(env.write_file("/d/5", ".t", "g", wire::as_bytes("x")).ok());
  auto names = env.list_dir("/d");
  ASSERT_TRUE(names);
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"5", "f"}));
}

}  // namespace
}  // namespace brood::spooler
