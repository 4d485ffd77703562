// The subscription client's options of `brood` (docs/config.md "Subscriptions"): uWSGI's names
// and aliases (subscribe, st), the defaults, ini files with repeated keys, the master they imply,
// and errors that name the option. In-process, no network.
#include <gtest/gtest.h>

#include <string>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

using std::chrono::seconds;
using subscription_options_test = options_fixture;

TEST_F(subscription_options_test, DefaultsMatchUwsgi) {
  const node::node_config c = parse({});
  const node::subscription_config& s = c.subscription;
  EXPECT_FALSE(s.any());
  EXPECT_EQ(s.freq, seconds(10));
  EXPECT_EQ(s.weight, 0u);
  EXPECT_FALSE(s.auto_weight);
  EXPECT_FALSE(s.with_modifier1);
  EXPECT_FALSE(s.start_unsubscribed);
  EXPECT_EQ(s.notify_socket, "");
  EXPECT_FALSE(s.unsubscribe_on_graceful_reload);
  EXPECT_FALSE(c.master);
}

TEST_F(subscription_options_test, EveryNameAndAliasAddsATargetAndImpliesMaster) {
  const node::node_config c =
      parse({"--subscribe-to", "127.0.0.1:4040:a.it", "--subscribe", "127.0.0.1:4040:b.it,5",
             "--st", "/run/r.sock:c.it", "--subscribe2", "server=127.0.0.1:4040,key=d.it,weight=3",
             "--subscribe-freq", "2", "--weight", "9", "--auto-weight",
             "--subscribe-with-modifier1", "7", "--start-unsubscribed",
             "--subscription-notify-socket", "/run/n.sock", "--unsubscribe-on-graceful-reload"});
  const node::subscription_config& s = c.subscription;
  ASSERT_EQ(s.targets.size(), 4u);
  EXPECT_EQ(s.targets[0].key, "a.it");
  EXPECT_EQ(s.targets[1].modifier1, 5);
  EXPECT_EQ(s.targets[2].server, "/run/r.sock");
  EXPECT_EQ(s.targets[3].weight, 3u);
  EXPECT_EQ(s.freq, seconds(2));
  EXPECT_EQ(s.weight, 9u);
  EXPECT_TRUE(s.auto_weight);
  EXPECT_EQ(s.with_modifier1, 7);
  EXPECT_TRUE(s.start_unsubscribed);
  EXPECT_EQ(s.notify_socket, "/run/n.sock");
  EXPECT_TRUE(s.unsubscribe_on_graceful_reload);
  EXPECT_TRUE(c.master);
}

TEST_F(subscription_options_test, IniFileAsTheSeedsBroodlordExample) {
  const std::string ini = write("s.ini",
                                "[uwsgi]\nsocket = 127.0.0.1:0\n"
                                "subscribe2 = server=127.0.0.1:4040,key=foobar.it\n"
                                "subscribe-to = 127.0.0.1:4040:other.it\n");
  const node::node_config c = parse({"--ini", ini});
  ASSERT_EQ(c.subscription.targets.size(), 2u);  // the subscribe-to ones first
  EXPECT_EQ(c.subscription.targets[0].key, "other.it");
  EXPECT_EQ(c.subscription.targets[1].key, "foobar.it");
}

TEST_F(subscription_options_test, BadValuesAreNamed) {
  EXPECT_NE(error_of({"--subscribe-to", "127.0.0.1:4040"}).find("'subscribe-to'"),
            std::string::npos);
  EXPECT_NE(error_of({"--subscribe2", "server=a:1,key=k,colour=red"}).find("unknown name"),
            std::string::npos);
  EXPECT_NE(error_of({"--subscribe2", "key=k"}).find("'subscribe2'"), std::string::npos);
  EXPECT_NE(error_of({"--subscribe-freq", "0"}).find("'--subscribe-freq'"), std::string::npos);
  EXPECT_NE(error_of({"--subscribe-with-modifier1", "256"}).find("'--subscribe-with-modifier1'"),
            std::string::npos);
}

}  // namespace
}  // namespace brood::cli
