// The checks between the cheaper options of `brood` (docs/uwsgi-compat.md §7.1): cheaper below
// processes, cheaper-initial's clamping, the RSS limits, busyness min/max, cheaper-algo's names
// and bad values, each error naming the option and the value. In-process, no network.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

using cheaper_checks_test = options_fixture;

TEST_F(cheaper_checks_test, UnknownAlgoIsRefusedWithTheNames) {
  EXPECT_EQ(error_of({"-p", "4", "--cheaper", "1", "--cheaper-algo", "fast"}),
            "invalid value 'fast' for option '--cheaper-algo': must be one of brood, spare, "
            "spare2, backlog, busyness, manual");
  std::string ini = write("c.ini", "[uwsgi]\ncheaper-algo = Spare\n");
  EXPECT_EQ(error_of({"--ini", ini}), "invalid value 'Spare' for option 'cheaper-algo' in " + ini +
                                          " line 2: must be one of brood, spare, spare2, "
                                          "backlog, busyness, manual");
}

TEST_F(cheaper_checks_test, CheaperInitialIsClampedIntoCheaperAndProcesses) {
  EXPECT_EQ(parse({"-p", "8", "--cheaper", "2"}).cheaper.initial, 2u);
  EXPECT_EQ(parse({"-p", "8", "--cheaper", "2", "--cheaper-initial", "0"}).cheaper.initial, 2u);
  EXPECT_EQ(parse({"-p", "8", "--cheaper", "3", "--cheaper-initial", "1"}).cheaper.initial, 3u);
  EXPECT_EQ(parse({"-p", "8", "--cheaper", "2", "--cheaper-initial", "50"}).cheaper.initial, 8u);
  EXPECT_EQ(parse({"-p", "8", "--cheaper", "2", "--cheaper-initial", "6"}).cheaper.initial, 6u);
}

TEST_F(cheaper_checks_test, CheaperMustBeLessThanProcesses) {
  EXPECT_EQ(error_of({"-p", "4", "--cheaper", "4"}), "cheaper (4) must be less than processes (4)");
  EXPECT_EQ(error_of({"--cheaper", "2"}), "cheaper (2) must be less than processes (1)");
  EXPECT_TRUE(parse({"-p", "4", "--cheaper", "3"}).cheaper.enabled());
}

TEST_F(cheaper_checks_test, SoftRssLimitNeedsMemoryReport) {
  EXPECT_EQ(error_of({"--cheaper-rss-limit-soft", "1000"}),
            "cheaper-rss-limit-soft (1000) needs memory-report");
  EXPECT_EQ(parse({"--cheaper-rss-limit-soft", "1000", "--memory-report"}).cheaper.rss_limit_soft,
            1000u);
}

TEST_F(cheaper_checks_test, HardRssLimitMustBeAboveTheSoftOne) {
  const std::vector<std::string> base = {"--memory-report", "--cheaper-rss-limit-soft", "2000",
                                         "--cheaper-rss-limit-hard"};
  auto with = [&](const char* hard) {
    std::vector<std::string> args = base;
    args.push_back(hard);
    return args;
  };
  EXPECT_EQ(error_of(with("1000")),
            "cheaper-rss-limit-hard (1000) must be greater than cheaper-rss-limit-soft (2000)");
  EXPECT_EQ(error_of(with("2000")),
            "cheaper-rss-limit-hard (2000) must be greater than cheaper-rss-limit-soft (2000)");
  EXPECT_EQ(parse(with("2001")).cheaper.rss_limit_hard, 2001u);
  EXPECT_EQ(parse({"--cheaper-rss-limit-hard", "5"}).cheaper.rss_limit_hard, 5u)
      << "a hard limit alone is allowed";
}

TEST_F(cheaper_checks_test, BusynessMinMustNotExceedMax) {
  EXPECT_EQ(error_of({"--cheaper-busyness-min", "60"}),
            "cheaper-busyness-min (60) is greater than cheaper-busyness-max (50)");
  EXPECT_EQ(error_of({"--cheaper-busyness-max", "101"}),
            "invalid value '101' for option '--cheaper-busyness-max': must be between 0 and 100");
  const node::cheaper_config c =
      parse({"--cheaper-busyness-min", "40", "--cheaper-busyness-max", "40"}).cheaper;
  EXPECT_EQ(c.busyness.min, 40u);
  EXPECT_EQ(c.busyness.max, 40u);
}

TEST_F(cheaper_checks_test, BadValuesAreNamed) {
  EXPECT_EQ(error_of({"--cheaper-overload", "0"}),
            "invalid value '0' for option '--cheaper-overload': must be between 1 and 86400");
  EXPECT_EQ(error_of({"--check-interval", "0"}),
            "invalid value '0' for option '--check-interval': must be between 1 and 86400");
  EXPECT_EQ(error_of({"--check-interval", "86401"}),
            "invalid value '86401' for option '--check-interval': must be between 1 and 86400");
  EXPECT_EQ(error_of({"--cheaper-rss-limit-soft", "4k"}),
            "invalid value '4k' for option '--cheaper-rss-limit-soft': not an unsigned integer");
  EXPECT_EQ(error_of({"--idle", "-1"}),
            "invalid value '-1' for option '--idle': not an unsigned integer");
  EXPECT_EQ(error_of({"--master-fifo", ""}),
            "invalid value '' for option '--master-fifo': empty value");
  std::string ini = write("c.ini", "[uwsgi]\nprocesses = 4\ncheaper = two\n");
  EXPECT_EQ(error_of({"--ini", ini}), "invalid value 'two' for option 'cheaper' in " + ini +
                                          " line 3: not an unsigned integer");
}

}  // namespace
}  // namespace brood::cli
