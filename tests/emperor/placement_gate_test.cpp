// placement_gate (emperor = legion:NAME,DIR): the assignment turned into the core's scan changes,
// and the core's records turned into the states the placement hears.
#include "brood/emperor/placement_gate.hpp"

#include <gtest/gtest.h>

namespace brood::emperor {
namespace {

using legion::placement_action;
using pstate = legion::vassal_state;
using kind = placement_action::kind;

vassal_file file(const std::string& name, std::time_t mtime = 1) {
  return vassal_file{.name = name, .path = "/d/" + name, .monitor = "/d", .mtime = mtime};
}

class placement_gate_test : public ::testing::Test {
 protected:
  placement_gate gate_{[](const vassal_file& f) { return f.name == "b.ini" ? 2u : 1u; }};
  std::map<std::string, vassal> records_;
  std::map<std::string, blacklist_entry> blacklist_;

  void present(std::initializer_list<const char*> names) {
    scan_changes dir;
    for (const char* n : names) dir.added.push_back(file(n));
    EXPECT_TRUE(gate_.on_scan(dir).added.empty());  // nothing assigned yet
  }
};

TEST_F(placement_gate_test, TheCatalogIsWhatTheDirectoryHolds) {
  present({"a.ini", "b.ini"});
  const auto c = gate_.catalog();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], (legion::vassal_spec{"a.ini", 1}));
  EXPECT_EQ(c[1], (legion::vassal_spec{"b.ini", 2}));
}

TEST_F(placement_gate_test, AssignedAndPresentIsAddedStoppedIsRemoved) {
  present({"a.ini", "b.ini"});
  auto e = gate_.on_action({kind::start, "a.ini"});
  ASSERT_EQ(e.changes.added.size(), 1u);
  EXPECT_EQ(e.changes.added[0].name, "a.ini");
  EXPECT_TRUE(gate_.on_action({kind::start, "a.ini"}).changes.added.empty());  // once
  scan_changes dir;
  dir.changed.push_back(file("a.ini", 2));
  dir.changed.push_back(file("b.ini", 2));
  const scan_changes out = gate_.on_scan(dir);
  ASSERT_EQ(out.changed.size(), 1u);  // only what the core runs
  EXPECT_EQ(out.changed[0].name, "a.ini");
  e = gate_.on_action({kind::stop, "a.ini"});
  EXPECT_EQ(e.changes.removed, std::vector<std::string>{"a.ini"});
  EXPECT_TRUE(e.kill.empty());
  // The record is gone once the process was reaped: stopped.
  EXPECT_EQ(gate_.states(records_, blacklist_),
            (std::vector<std::pair<std::string, pstate>>{{"a.ini", pstate::stopped}}));
  EXPECT_TRUE(gate_.states(records_, blacklist_).empty());
}

TEST_F(placement_gate_test, KillRemovesAndKills) {
  present({"a.ini"});
  gate_.on_action({kind::start, "a.ini"});
  const auto e = gate_.on_action({kind::kill, "a.ini"});
  EXPECT_EQ(e.changes.removed, std::vector<std::string>{"a.ini"});
  EXPECT_EQ(e.kill, std::vector<std::string>{"a.ini"});
}

TEST_F(placement_gate_test, AFileThatArrivesLaterStartsThenAndGoneIsRemoved) {
  EXPECT_TRUE(gate_.on_action({kind::start, "late.ini"}).changes.added.empty());
  EXPECT_EQ(gate_.states(records_, blacklist_),
            (std::vector<std::pair<std::string, pstate>>{{"late.ini", pstate::failed}}));
  scan_changes dir;
  dir.added.push_back(file("late.ini"));
  EXPECT_EQ(gate_.on_scan(dir).added.size(), 1u);  // still assigned: the core gets it now
  scan_changes gone;
  gone.removed.push_back("late.ini");
  EXPECT_EQ(gate_.on_scan(gone).removed, std::vector<std::string>{"late.ini"});
}

TEST_F(placement_gate_test, ReadyIsRunningThrottledIsFailed) {
  present({"a.ini"});
  gate_.on_action({kind::start, "a.ini"});
  vassal& v = records_["a.ini"];
  v.file = file("a.ini");
  EXPECT_TRUE(gate_.states(records_, blacklist_).empty());  // no process, not ready
  v.state = vassal_state::respawn;
  blacklist_["a.ini"] = blacklist_entry{.name = "a.ini", .attempts = 1};
  EXPECT_EQ(gate_.states(records_, blacklist_),
            (std::vector<std::pair<std::string, pstate>>{{"a.ini", pstate::failed}}));
  EXPECT_TRUE(gate_.states(records_, blacklist_).empty());  // once
  v.state = vassal_state::exiled;
  EXPECT_TRUE(gate_.states(records_, blacklist_).empty());  // still failed
}

}  // namespace
}  // namespace brood::emperor

namespace brood::emperor {
namespace {

using legion::placement_action;
using pstate = legion::vassal_state;
using kind = placement_action::kind;

// Broodlord across the legion: z.ini has a [zerg] section, a.ini has none.
class placement_gate_zerg_test : public ::testing::Test {
 protected:
  placement_gate gate_{[](const vassal_file&) { return 1u; },
                       [](const vassal_file& f) { return f.name == "z.ini"; }};
  std::map<std::string, vassal> records_;
  std::map<std::string, blacklist_entry> blacklist_;

  void present(std::initializer_list<const char*> names) {
    scan_changes dir;
    for (const char* n : names)
      dir.added.push_back(vassal_file{.name = n, .path = std::string("/d/") + n, .monitor = "/d"});
    gate_.on_scan(dir);
  }
  // The core's record of a running zerg (what add_zerg makes).
  void zerg_record(const std::string& name) {
    vassal& v = records_[name];
    v.file.name = name;
    v.zerg_of = legion::zerg_base(name);
  }
};

TEST_F(placement_gate_zerg_test, TheCatalogSaysWhichFilesHaveAZergSection) {
  present({"a.ini", "z.ini"});
  const auto c = gate_.catalog();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_FALSE(c[0].zerg);
  EXPECT_TRUE(c[1].zerg);
}

TEST_F(placement_gate_zerg_test, AnAssignedZergStartsFromItsBaseFileThoughTheBaseRunsElsewhere) {
  present({"a.ini", "z.ini"});
  const auto e = gate_.on_action({kind::start, "z.ini:zerg"});
  EXPECT_TRUE(e.changes.added.empty());
  ASSERT_EQ(e.zergs.size(), 1u);
  EXPECT_EQ(e.zergs[0].first.name, "z.ini");
  EXPECT_EQ(e.zergs[0].first.path, "/d/z.ini");
  EXPECT_EQ(e.zergs[0].second, "z.ini:zerg");
  EXPECT_TRUE(gate_.on_action({kind::start, "z.ini:zerg"}).zergs.empty());  // once
  // A base without a [zerg] section, or absent: failed.
  EXPECT_TRUE(gate_.on_action({kind::start, "a.ini:zerg"}).zergs.empty());
  EXPECT_TRUE(gate_.on_action({kind::start, "x.ini:zerg"}).zergs.empty());
  zerg_record("z.ini:zerg");
  EXPECT_EQ(gate_.states(records_, blacklist_),
            (std::vector<std::pair<std::string, pstate>>{{"a.ini:zerg", pstate::failed},
                                                         {"x.ini:zerg", pstate::failed}}));
}

TEST_F(placement_gate_zerg_test, ARetiredZergIsStoppedAndAStopRemovesIt) {
  present({"z.ini"});
  gate_.on_action({kind::start, "z.ini:zerg"});
  gate_.on_action({kind::start, "z.ini:zerg:2"});
  zerg_record("z.ini:zerg");
  zerg_record("z.ini:zerg:2");
  EXPECT_TRUE(gate_.states(records_, blacklist_).empty());
  records_.erase("z.ini:zerg");  // it retired on idle (22): the core forgot it
  EXPECT_EQ(gate_.states(records_, blacklist_),
            (std::vector<std::pair<std::string, pstate>>{{"z.ini:zerg", pstate::stopped}}));
  EXPECT_TRUE(gate_.states(records_, blacklist_).empty());
  const auto e = gate_.on_action({kind::stop, "z.ini:zerg:2"});
  EXPECT_EQ(e.changes.removed, std::vector<std::string>{"z.ini:zerg:2"});
}

TEST_F(placement_gate_zerg_test, TheBaseFileChangedReloadsItsZergsAndRemovedStopsThem) {
  present({"z.ini"});
  gate_.on_action({kind::start, "z.ini:zerg"});
  scan_changes dir;
  dir.changed.push_back(vassal_file{.name = "z.ini", .path = "/d/z.ini", .mtime = 2});
  scan_changes out = gate_.on_scan(dir);
  ASSERT_EQ(out.changed.size(), 1u);
  EXPECT_EQ(out.changed[0].name, "z.ini:zerg");
  EXPECT_EQ(out.changed[0].path, "/d/z.ini");
  dir = {};
  dir.removed.push_back("z.ini");
  out = gate_.on_scan(dir);
  EXPECT_EQ(out.removed, std::vector<std::string>{"z.ini:zerg"});
}

}  // namespace
}  // namespace brood::emperor
