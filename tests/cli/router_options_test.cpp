// The router options of `brood` (docs/config.md "Router", docs/uwsgi-compat.md §10.4): defaults,
// the command line, ini files, aliases and refusals. In-process, no network.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

using router_options_test = options_fixture;

router::router_config router_of(const std::vector<std::string>& args) {
  options_result r = parse_options(args);
  EXPECT_TRUE(r.options.has_value()) << r.error;
  return r.options ? r.options->router : router::router_config{};
}

TEST_F(router_options_test, DefaultsMatchUwsgi) {
  const router::router_config c = router_of({"--fastrouter", ":3031", "--fastrouter-to", ":3032"});
  EXPECT_TRUE(c.wanted());
  EXPECT_EQ(c.algo, router::algorithm::wrr);
  EXPECT_EQ(c.tolerance.count(), 17);
  EXPECT_EQ(c.timeout.count(), 60);
  EXPECT_EQ(c.max_retries, 3u);
  EXPECT_FALSE(c.dotsplit);
  EXPECT_EQ(c.buffer_size, 4096u);
  EXPECT_FALSE(router_of({}).wanted());
}

TEST_F(router_options_test, EveryOptionFromIni) {
  const std::string ini = write("r.ini",
                                "[uwsgi]\n"
                                "fastrouter = 127.0.0.1:3031\n"
                                "fastrouter-subscription-server = 127.0.0.1:4040\n"
                                "fastrouter-subscription-server = /run/sub.sock\n"
                                "fastrouter-to = 127.0.0.1:5000\n"
                                "fastrouter-subscription-fallback-key = default\n"
                                "subscription-dotsplit = true\n"
                                "subscription-algo = wlrc\n"
                                "subscription-tolerance = 30\n"
                                "fastrouter-timeout = 5\n"
                                "fastrouter-max-retries = 1\n"
                                "fastrouter-ss = 127.0.0.1:4041\n"
                                "subscriptions-sign-check = SHA1:/etc/keys\n"
                                "subscriptions-sign-check-tolerance = 3\n");
  const router::router_config c = router_of({"--ini", ini});
  EXPECT_EQ(c.sockets, (std::vector<std::string>{"127.0.0.1:3031"}));
  EXPECT_EQ(c.subscription_servers, (std::vector<std::string>{"127.0.0.1:4040", "/run/sub.sock"}));
  EXPECT_EQ(c.static_nodes, (std::vector<std::string>{"127.0.0.1:5000"}));
  EXPECT_EQ(c.fallback_key, "default");
  EXPECT_TRUE(c.dotsplit);
  EXPECT_EQ(c.algo, router::algorithm::wlrc);
  EXPECT_EQ(c.tolerance.count(), 30);
  EXPECT_EQ(c.timeout.count(), 5);
  EXPECT_EQ(c.max_retries, 1u);
  EXPECT_EQ(c.stats, "127.0.0.1:4041");
  EXPECT_EQ(c.sign_check_digest, "SHA1");
  EXPECT_EQ(c.sign_check_dir, "/etc/keys");
  EXPECT_EQ(c.sign_tolerance.count(), 3);
}

TEST_F(router_options_test, StatsAliases) {
  EXPECT_EQ(
      router_of({"--fastrouter", ":1", "--fastrouter-to", ":2", "--fastrouter-stats-server", ":3"})
          .stats,
      ":3");
}

TEST_F(router_options_test, BadValuesAreRefusedByName) {
  EXPECT_NE(error_of({"--fastrouter", ":1", "--fastrouter-to", ":2", "--subscription-algo", "rr"})
                .find("subscription-algo"),
            std::string::npos);
  EXPECT_NE(error_of({"--fastrouter", ":1"}).find("no node source"), std::string::npos);
  EXPECT_NE(error_of({"--fastrouter", ":1", "--fastrouter-to", ":2", "--subscriptions-sign-check",
                      "sha1"})
                .find("DIGEST:DIR"),
            std::string::npos);
  EXPECT_NE(error_of({"--fastrouter", "h:99999", "--fastrouter-to", ":2"}).find("99999"),
            std::string::npos);
}

}  // namespace
}  // namespace brood::cli
