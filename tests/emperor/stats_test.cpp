// stats_json: uWSGI 2.0's emperor-stats field names and types (docs/uwsgi-compat.md §4.6).
#include "brood/emperor/stats.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core_fixture.hpp"

namespace brood::emperor::testing {
namespace {

using nlohmann::json;
using wire::vassal_message;

class stats_test : public core_fixture {
 protected:
  void SetUp() override {
    emperor_config cfg;
    cfg.sources = {"/etc/vassals", "/srv/*.ini"};
    make_core(cfg);
  }
  json stats() const { return json::parse(stats_json(*core)); }
  static void expect_integer(const json& o, const char* key) {
    ASSERT_TRUE(o.contains(key)) << key;
    EXPECT_TRUE(o.at(key).is_number_integer()) << key << ": " << o.at(key).dump();
  }
  static void expect_string(const json& o, const char* key) {
    ASSERT_TRUE(o.contains(key)) << key;
    EXPECT_TRUE(o.at(key).is_string()) << key << ": " << o.at(key).dump();
  }
};

TEST_F(stats_test, TopLevelFields) {
  const json s = stats();
  EXPECT_EQ(s.size(), 10u) << s.dump();
  expect_string(s, "version");
  expect_string(s, "cwd");
  for (const char* k : {"pid", "uid", "gid", "emperor_tyrant", "throttle_level"})
    expect_integer(s, k);
  EXPECT_EQ(s["pid"], ::getpid());
  EXPECT_EQ(s["uid"], ::getuid());
  EXPECT_EQ(s["emperor_tyrant"], 0);
  EXPECT_EQ(s["throttle_level"], 0);
  EXPECT_EQ(s["emperor"], json({"/etc/vassals", "/srv/*.ini"}));
  EXPECT_TRUE(s["vassals"].is_array() && s["vassals"].empty());
  EXPECT_TRUE(s["blacklist"].is_array() && s["blacklist"].empty());
}

TEST_F(stats_test, VassalFields) {
  add(file("app.ini", 77), 0);
  message(rec.pids[0], wire::vassal_message::ready, 1);
  message(rec.pids[0], wire::vassal_message::heartbeat, 2);
  add(file("od.ini", 5, "/run/od.socket"), 0);
  const json vs = stats()["vassals"];
  ASSERT_EQ(vs.size(), 2u);
  const json& a = vs[0];
  EXPECT_EQ(a.size(), 20u) << a.dump();
  for (const char* k : {"id", "on_demand", "monitor"}) expect_string(a, k);
  for (const char* k : {"pid", "born", "last_mod", "last_heartbeat", "loyal", "ready", "accepting",
                        "last_loyal", "last_ready", "last_accepting", "first_run", "last_run",
                        "cursed", "zerg", "uid", "gid", "respawns"})
    expect_integer(a, k);
  EXPECT_EQ(a["id"], "app.ini");
  EXPECT_EQ(a["pid"], rec.pids[0]);
  EXPECT_EQ(a["last_mod"], 77);
  EXPECT_EQ(a["ready"], 1);
  EXPECT_EQ(a["loyal"], 0);
  EXPECT_EQ(a["last_ready"], at(1).wall);
  EXPECT_EQ(a["last_heartbeat"], at(2).wall);
  EXPECT_EQ(a["born"], at(0).wall);
  EXPECT_EQ(a["monitor"], "/etc/vassals");
  EXPECT_EQ(a["on_demand"], "");
  const json& od = vs[1];
  EXPECT_EQ(od["id"], "od.ini");
  EXPECT_EQ(od["pid"], -1);
  EXPECT_EQ(od["on_demand"], "/run/od.socket");
}

TEST_F(stats_test, BlacklistFields) {
  add(file("app.ini"), 0);
  core->on_exit(rec.pids[0], exited(1), at(3));
  const json bl = stats()["blacklist"];
  ASSERT_EQ(bl.size(), 1u);
  const json& b = bl[0];
  EXPECT_EQ(b.size(), 5u) << b.dump();
  expect_string(b, "id");
  for (const char* k : {"throttle_level", "attempt", "first_attempt", "last_attempt"})
    expect_integer(b, k);
  EXPECT_EQ(b["id"], "app.ini");
  EXPECT_EQ(b["throttle_level"], 1000);
  EXPECT_EQ(b["attempt"], 1);
  EXPECT_EQ(b["first_attempt"], at(3).wall);
  EXPECT_EQ(b["last_attempt"], at(3).wall);
}

TEST_F(stats_test, ZergsAreFlagged) {
  emperor_config cfg;
  cfg.sources = {"/etc/vassals"};
  cfg.broodlord = 2;
  make_core(cfg);
  add(file("app.ini", 4), 0);
  message(rec.pids[0], vassal_message::sos, 1);
  const json vs = stats()["vassals"];
  ASSERT_EQ(vs.size(), 2u) << vs.dump();
  EXPECT_EQ(vs[0]["id"], "app.ini");
  EXPECT_EQ(vs[0]["zerg"], 0);
  const json& z = vs[1];
  EXPECT_EQ(z.size(), 20u) << z.dump();
  EXPECT_EQ(z["id"], "app.ini:zerg");
  EXPECT_EQ(z["zerg"], 1);
  EXPECT_EQ(z["pid"], rec.pids[1]);
  EXPECT_EQ(z["last_mod"], 4);
  EXPECT_EQ(z["born"], at(1).wall);
  EXPECT_EQ(z["monitor"], "/etc/vassals");
  EXPECT_EQ(z["on_demand"], "");
}

}  // namespace
}  // namespace brood::emperor::testing
