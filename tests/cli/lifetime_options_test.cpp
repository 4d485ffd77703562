// The worker lifetime options of `brood` (docs/config.md "Worker lifetime"): uWSGI's defaults,
// names, short forms and value forms, the master they imply, and errors that name the option.
// In-process, no network.
#include <gtest/gtest.h>

#include <string>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

using std::chrono::seconds;
using lifetime_options_test = options_fixture;
constexpr std::uint64_t mb = 1024 * 1024;

TEST_F(lifetime_options_test, DefaultsMatchUwsgi) {
  const node::node_config c = parse({});
  const node::lifetime_config& l = c.lifetime;
  EXPECT_FALSE(l.any());
  EXPECT_EQ(l.harakiri, seconds(0));
  EXPECT_FALSE(l.harakiri_verbose);
  EXPECT_EQ(l.max_requests, 0u);
  EXPECT_EQ(l.min_worker_lifetime, seconds(10));  // uWSGI 2.0.21's default
  EXPECT_EQ(l.max_worker_lifetime, seconds(0));
  EXPECT_EQ(l.reload_on_rss, 0u);
  EXPECT_EQ(l.mem_collector_freq, seconds(3));
  EXPECT_FALSE(c.master);
}

TEST_F(lifetime_options_test, CommandLineFillsEveryFieldAndImpliesMaster) {
  const node::node_config c = parse({"--harakiri",
                                     "30",
                                     "--harakiri-verbose",
                                     "--max-requests",
                                     "1000",
                                     "--min-worker-lifetime",
                                     "0",
                                     "--max-worker-lifetime",
                                     "3600",
                                     "--max-worker-lifetime-delta",
                                     "5",
                                     "--reload-on-rss",
                                     "200",
                                     "--reload-on-as",
                                     "1024",
                                     "--evil-reload-on-rss",
                                     "400",
                                     "--evil-reload-on-as",
                                     "2048",
                                     "--mem-collector-freq",
                                     "7"});
  const node::lifetime_config& l = c.lifetime;
  EXPECT_EQ(l.harakiri, seconds(30));
  EXPECT_TRUE(l.harakiri_verbose);
  EXPECT_EQ(l.max_requests, 1000u);
  EXPECT_EQ(l.min_worker_lifetime, seconds(0));
  EXPECT_EQ(l.max_worker_lifetime, seconds(3600));
  EXPECT_EQ(l.max_worker_lifetime_delta, seconds(5));
  EXPECT_EQ(l.reload_on_rss, 200 * mb);
  EXPECT_EQ(l.reload_on_as, 1024 * mb);
  EXPECT_EQ(l.evil_reload_on_rss, 400 * mb);
  EXPECT_EQ(l.evil_reload_on_as, 2048 * mb);
  EXPECT_EQ(l.mem_collector_freq, seconds(7));
  EXPECT_TRUE(c.master);
}

TEST_F(lifetime_options_test, UwsgiShortForms) {
  const node::node_config c = parse({"-t", "20", "-R", "50"});
  EXPECT_EQ(c.lifetime.harakiri, seconds(20));
  EXPECT_EQ(c.lifetime.max_requests, 50u);
  EXPECT_TRUE(c.master);
}

TEST_F(lifetime_options_test, EachOptionAloneImpliesMaster) {
  for (const char* name :
       {"--harakiri", "--max-requests", "--max-worker-lifetime", "--reload-on-rss",
        "--reload-on-as", "--evil-reload-on-rss", "--evil-reload-on-as"})
    EXPECT_TRUE(parse({name, "60", "--min-worker-lifetime", "1"}).master) << name;
  EXPECT_FALSE(parse({"--harakiri", "0"}).master);
}

TEST_F(lifetime_options_test, IniFileWithUwsgiNames) {
  const std::string ini = write("l.ini",
                                "[uwsgi]\n"
                                "harakiri = 60\n"
                                "max-requests = 5000\n"
                                "reload-on-rss = 256\n"
                                "max-worker-lifetime = 86400\n");
  const node::lifetime_config l = parse({"--ini", ini}).lifetime;
  EXPECT_EQ(l.harakiri, seconds(60));
  EXPECT_EQ(l.max_requests, 5000u);
  EXPECT_EQ(l.reload_on_rss, 256 * mb);
  EXPECT_EQ(l.max_worker_lifetime, seconds(86400));
}

TEST_F(lifetime_options_test, BadValuesAreNamed) {
  EXPECT_EQ(error_of({"--harakiri", "soon"}),
            "invalid value 'soon' for option '--harakiri': not an unsigned integer");
  EXPECT_NE(error_of({"--max-requests", "-1"}).find("'--max-requests'"), std::string::npos);
  EXPECT_NE(error_of({"--reload-on-rss", "1G"}).find("'--reload-on-rss'"), std::string::npos);
  EXPECT_NE(error_of({"--mem-collector-freq", "0"}).find("'--mem-collector-freq'"),
            std::string::npos);
}

TEST_F(lifetime_options_test, MinLifetimeMustBeBelowMaxLifetimeAsInUwsgi) {
  EXPECT_EQ(error_of({"--max-worker-lifetime", "3"}),
            "invalid min-worker-lifetime value (10), must be lower than max-worker-lifetime (3)");
  EXPECT_EQ(parse({"--max-worker-lifetime", "11"}).lifetime.max_worker_lifetime, seconds(11));
}

TEST_F(lifetime_options_test, HelpListsTheLifetimeOptions) {
  const std::string help = help_text();
  for (const char* name : {"Worker lifetime", "--harakiri", "-t", "--harakiri-verbose",
                           "--max-requests", "-R", "--min-worker-lifetime", "--max-worker-lifetime",
                           "--max-worker-lifetime-delta", "--reload-on-rss", "--reload-on-as",
                           "--evil-reload-on-rss", "--evil-reload-on-as", "--mem-collector-freq"})
    EXPECT_NE(help.find(name), std::string::npos) << name;
}

}  // namespace
}  // namespace brood::cli
