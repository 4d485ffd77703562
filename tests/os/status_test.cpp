// os::status and os::result: the os layer's one error model.
#include "brood/os/status.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace brood::os {
namespace {

class status_test : public ::testing::Test {
 protected:
  static result<int> half(int n) {
    if (n % 2 != 0)
      return status(std::make_error_code(std::errc::invalid_argument),
                    std::to_string(n) + " is odd");
    return n / 2;
  }
};

TEST_F(status_test, DefaultIsOkWithoutMessage) {
  status s;
  EXPECT_TRUE(s.ok());
  EXPECT_FALSE(s.code());
  EXPECT_EQ(s.message(), "");
}

TEST_F(status_test, ErrorKeepsCodeAndMessage) {
  status s(std::make_error_code(std::errc::address_in_use), "cannot bind x:1: in use");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), std::errc::address_in_use);
  EXPECT_EQ(s.message(), "cannot bind x:1: in use");
}

TEST_F(status_test, FromErrnoSaysWhatAndWhy) {
  status s = status::from_errno(ENOENT, "cannot open /nowhere");
  EXPECT_EQ(s.code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(s.code().category(), std::system_category());
  EXPECT_EQ(s.message(), std::string("cannot open /nowhere: ") + std::strerror(ENOENT));
}

TEST_F(status_test, LastErrnoReadsErrno) {
  errno = EACCES;
  status s = status::last_errno("cannot read f");
  EXPECT_EQ(s.code(), std::errc::permission_denied);
  EXPECT_EQ(s.message(), std::string("cannot read f: ") + std::strerror(EACCES));
}

TEST_F(status_test, ContextPutsWhereInFront) {
  status s = status::from_errno(EMFILE, "cannot open inotify").context("spooler /var/spool");
  EXPECT_EQ(s.code(), std::errc::too_many_files_open);
  EXPECT_EQ(s.message().rfind("spooler /var/spool: cannot open inotify: ", 0), 0u) << s.message();
  EXPECT_TRUE(status().context("anything").ok());
  EXPECT_EQ(status().context("anything").message(), "");
}

TEST_F(status_test, ResultHoldsAValue) {
  result<int> r = half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 4);
  EXPECT_EQ(r.value(), 4);
  EXPECT_TRUE(r.error().ok());
}

TEST_F(status_test, ResultHoldsAnError) {
  result<int> r = half(3);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().code(), std::errc::invalid_argument);
  EXPECT_EQ(r.error().message(), "3 is odd");
  EXPECT_THROW(static_cast<void>(r.value()), std::bad_variant_access);
}

TEST_F(status_test, ResultOfAMoveOnlyOwner) {
  result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(*r);
  EXPECT_EQ(*p, 7);
  EXPECT_EQ(*std::move(result<std::unique_ptr<int>>(std::make_unique<int>(9))).value(), 9);
}

TEST_F(status_test, ErrorConvertsBetweenResults) {
  auto inner = half(5);
  result<std::string> outer = inner ? result<std::string>(std::to_string(*inner))
                                    : result<std::string>(inner.error().context("halving"));
  EXPECT_FALSE(outer.ok());
  EXPECT_EQ(outer.error().message(), "halving: 5 is odd");
}

}  // namespace
}  // namespace brood::os
