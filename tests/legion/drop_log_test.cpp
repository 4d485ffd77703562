// The rate-limited log of dropped messages (legion/src/drop_log.hpp).
#include "drop_log.hpp"

#include <gtest/gtest.h>

namespace brood::legion {
namespace {

using namespace std::chrono_literals;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(legion_drop_log_test, OneLinePerSenderAndReasonPerPeriodWithTheCountLeftOut) {
  drop_log log("web", 10s);
  const auto t0 = drop_log::clock::time_point{} + 1h;
  ::testing::internal::CaptureStderr();
  log.drop("10.0.0.7", "replayed seq 5 (last 5)", t0);
  log.drop("10.0.0.7", "replayed seq 6 (last 6)", t0 + 1s);  // same reason, other numbers
  log.drop("10.0.0.7", "replayed seq 7 (last 7)", t0 + 2s);
  log.drop("10.0.0.7", "bad mac", t0 + 2s);                   // another reason: its own line
  log.drop("10.0.0.8", "bad mac", t0 + 2s);                   // another sender: its own line
  log.drop("10.0.0.7", "replayed seq 9 (last 9)", t0 + 11s);  // the period passed
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(count(err, "\n"), 4u) << err;
  EXPECT_EQ(count(err, "legion 'web': dropped a message from 10.0.0.7: replayed seq"), 2u) << err;
  EXPECT_NE(err.find("replayed seq 9 (last 9) (and 2 more like it)"), std::string::npos) << err;
  EXPECT_NE(err.find("from 10.0.0.8: bad mac"), std::string::npos) << err;
  EXPECT_EQ(log.dropped(), 6u);
}

}  // namespace
}  // namespace brood::legion
