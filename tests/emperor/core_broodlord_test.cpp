// emperor_core broodlord (docs/uwsgi-compat.md §5.1): an SOS starts a zerg running the [zerg]
// section, the emperor-broodlord limit, SOS storms, and the zerg lifecycle (respawn, idle, exile,
// base file removed or touched), with a fake launcher and fake time.
#include <gtest/gtest.h>

#include <algorithm>

#include "core_fixture.hpp"

namespace brood::emperor::testing {
namespace {

using strings = std::vector<std::string>;
using wire::vassal_message;

class core_broodlord_test : public core_fixture {
 protected:
  void SetUp() override { with_broodlord(3); }
  void with_broodlord(unsigned n) {
    emperor_config cfg;
    cfg.sources = {"/etc/vassals"};
    cfg.broodlord = n;
    make_core(cfg);
  }
  // Adds vassal NAME, ready at time t.
  pid_t running_vassal(const std::string& name, double t) {
    add(file(name), t);
    const pid_t pid = pid_of(name);
    message(pid, vassal_message::ready, t);
    return pid;
  }
  // An SOS from `vassal` at t; returns the pid of the zerg it started, -1 if none.
  pid_t sos(const std::string& vassal, double t) {
    const std::size_t before = rec.pids.size();
    message(pid_of(vassal), vassal_message::sos, t);
    return rec.pids.size() > before ? rec.pids.back() : -1;
  }
  // An SOS whose zerg then says it is ready.
  pid_t ready_zerg(const std::string& vassal, double t) {
    const pid_t z = sos(vassal, t);
    if (z > 0) message(z, vassal_message::ready, t);
    return z;
  }
  bool has(const std::string& name) const { return core->vassals().count(name) != 0; }
  static bool contains(const strings& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }
};

TEST_F(core_broodlord_test, SosStartsAZergRunningTheZergSection) {
  running_vassal("app.ini", 0);
  const pid_t z = sos("app.ini", 1);
  ASSERT_GT(z, 0);
  ASSERT_EQ(rec.launches.size(), 2u);
  const launch_spec& spec = rec.launches[1];
  EXPECT_EQ(spec.name, "app.ini:zerg");
  EXPECT_EQ(spec.argv, (strings{"/usr/bin/brood", "--ini", "/etc/vassals/app.ini:zerg"}));
  EXPECT_EQ(spec.stdin_fd, -1);
  EXPECT_TRUE(contains(spec.set, "UWSGI_BROODLORD_NUM=1"));
  const vassal& zerg = v("app.ini:zerg");
  EXPECT_EQ(zerg.zerg_of, "app.ini");
  EXPECT_EQ(zerg.state, vassal_state::running);
  EXPECT_EQ(zerg.born, at(1).wall);
  EXPECT_EQ(zerg.file.path, "/etc/vassals/app.ini");
  EXPECT_EQ(pid_of("app.ini:zerg"), z);
  EXPECT_EQ(core->zerg_count(), 1u);
  EXPECT_NE(core->describe().find("app.ini:zerg running pid " + std::to_string(z)),
            std::string::npos)
      << core->describe();
  EXPECT_NE(core->describe().find("zerg of app.ini"), std::string::npos);
}

TEST_F(core_broodlord_test, FurtherZergsGetUniqueNamesAndTheSameSection) {
  running_vassal("app.ini", 0);
  ASSERT_GT(ready_zerg("app.ini", 1), 0);
  ASSERT_GT(ready_zerg("app.ini", 2), 0);
  ASSERT_GT(ready_zerg("app.ini", 3), 0);
  ASSERT_EQ(rec.launches.size(), 4u);
  EXPECT_EQ(rec.launches[2].name, "app.ini:zerg:2");
  EXPECT_EQ(rec.launches[3].name, "app.ini:zerg:3");
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(rec.launches[i].argv.back(), "/etc/vassals/app.ini:zerg");
    EXPECT_TRUE(contains(rec.launches[i].set, "UWSGI_BROODLORD_NUM=" + std::to_string(i)));
  }
  EXPECT_EQ(core->zerg_count(), 3u);
}

TEST_F(core_broodlord_test, TheLimitCountsZergsOfEveryVassalAndFreesOnRemoval) {
  with_broodlord(2);
  running_vassal("a.ini", 0);
  running_vassal("b.ini", 0);
  const pid_t za = ready_zerg("a.ini", 1);
  ASSERT_GT(za, 0);
  ASSERT_GT(ready_zerg("b.ini", 1), 0);
  EXPECT_EQ(sos("a.ini", 2), -1);  // 2 zergs in all
  EXPECT_EQ(sos("b.ini", 2), -1);
  EXPECT_EQ(core->zerg_count(), 2u);
  EXPECT_EQ(rec.launches.size(), 4u);
  // a's zerg retires (22): the count goes down once its record is gone.
  message(za, vassal_message::idle, 3);
  EXPECT_EQ(core->zerg_count(), 2u);
  core->on_exit(za, exited(0), at(4));
  EXPECT_EQ(core->zerg_count(), 1u);
  const pid_t again = sos("a.ini", 5);
  ASSERT_GT(again, 0);
  EXPECT_EQ(rec.launches.back().name, "a.ini:zerg");  // the free name is reused
  EXPECT_TRUE(contains(rec.launches.back().set, "UWSGI_BROODLORD_NUM=3"));
}

TEST_F(core_broodlord_test, SosWhileTheZergIsStartingIsIgnored) {
  running_vassal("app.ini", 0);
  const pid_t z = sos("app.ini", 1);
  ASSERT_GT(z, 0);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sos("app.ini", 1.1 + i * 0.1), -1);
  EXPECT_EQ(rec.launches.size(), 2u);
  message(z, vassal_message::accepting, 2);  // accepting is enough to count as started
  EXPECT_GT(sos("app.ini", 2.5), 0);
  EXPECT_EQ(rec.launches.size(), 3u);
}

TEST_F(core_broodlord_test, AnotherVassalsStartingZergDoesNotBlock) {
  running_vassal("a.ini", 0);
  running_vassal("b.ini", 0);
  ASSERT_GT(sos("a.ini", 1), 0);
  EXPECT_GT(sos("b.ini", 1), 0);
}

TEST_F(core_broodlord_test, WithoutBroodlordSosIsOnlyLogged) {
  with_broodlord(0);
  running_vassal("app.ini", 0);
  EXPECT_EQ(sos("app.ini", 1), -1);
  EXPECT_EQ(sos("app.ini", 2), -1);
  EXPECT_EQ(rec.launches.size(), 1u);
  EXPECT_EQ(core->vassals().size(), 1u);
  EXPECT_EQ(v("app.ini").sos_refused, "no broodlord (emperor-broodlord is 0)");
  EXPECT_TRUE(sent(pid_of("app.ini")).empty());
}

TEST_F(core_broodlord_test, ZergsAndStoppingVassalsCannotCallForZergs) {
  running_vassal("app.ini", 0);
  const pid_t z = ready_zerg("app.ini", 1);
  ASSERT_GT(z, 0);
  core->on_message(z, wire::to_byte(vassal_message::sos), at(2));
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_EQ(v("app.ini:zerg").sos_refused, "a zerg cannot ask for reinforcements");
  const pid_t base = pid_of("app.ini");
  remove("app.ini", 3);
  core->on_message(base, wire::to_byte(vassal_message::sos), at(3));
  EXPECT_EQ(rec.launches.size(), 2u);
}

TEST_F(core_broodlord_test, AZergThatDiesIsRespawnedUnderTheVassalRules) {
  running_vassal("app.ini", 0);
  const pid_t z = ready_zerg("app.ini", 1);
  message(z, vassal_message::loyal, 1);
  core->on_exit(z, killed(SIGKILL), at(2));  // loyal: at once
  ASSERT_EQ(rec.launches.size(), 3u);
  EXPECT_EQ(rec.launches[2].name, "app.ini:zerg");
  EXPECT_EQ(rec.launches[2].argv.back(), "/etc/vassals/app.ini:zerg");
  EXPECT_TRUE(contains(rec.launches[2].set, "UWSGI_BROODLORD_NUM=1"));  // the same zerg
  EXPECT_EQ(v("app.ini:zerg").respawns, 1u);
  // Never loyal: throttled (emperor-throttle 1 s); the record and the count stay meanwhile, and
  // it still counts as starting.
  core->on_exit(rec.pids.back(), exited(1), at(3));
  EXPECT_EQ(v("app.ini:zerg").state, vassal_state::respawn);
  EXPECT_EQ(core->zerg_count(), 1u);
  EXPECT_EQ(sos("app.ini", 3.5), -1);
  ASSERT_TRUE(core->next_deadline());
  EXPECT_EQ(*core->next_deadline(), mono(4));
  core->on_tick(at(4));
  ASSERT_EQ(rec.launches.size(), 4u);
  EXPECT_EQ(rec.launches[3].name, "app.ini:zerg");
  EXPECT_EQ(core->blacklist().count("app.ini:zerg"), 1u);
}

TEST_F(core_broodlord_test, AnIdleZergIsStoppedForGood) {
  running_vassal("app.ini", 0);
  const pid_t z = ready_zerg("app.ini", 1);
  message(z, vassal_message::idle, 5);
  EXPECT_EQ(sent(z), (std::vector<std::uint8_t>{0}));
  EXPECT_EQ(v("app.ini:zerg").state, vassal_state::stopping);
  core->on_exit(z, exited(0), at(6));
  EXPECT_FALSE(has("app.ini:zerg"));
  EXPECT_EQ(core->zerg_count(), 0u);
  core->on_tick(at(100));
  EXPECT_EQ(rec.launches.size(), 2u);
  EXPECT_EQ(v("app.ini").state, vassal_state::running);  // the vassal is untouched
  EXPECT_TRUE(sent(pid_of("app.ini")).empty());
}

TEST_F(core_broodlord_test, AnIdleZergStillAliveAfterTheCurseToleranceGetsSigkill) {
  running_vassal("app.ini", 0);
  const pid_t z = ready_zerg("app.ini", 1);
  message(z, vassal_message::idle, 5);
  core->on_tick(at(35));
  EXPECT_TRUE(killed_with_sigkill(z));
  core->on_exit(z, killed(SIGKILL), at(35.1));
  EXPECT_FALSE(has("app.ini:zerg"));
}

TEST_F(core_broodlord_test, AZergExitingWith26IsRemoved) {
  running_vassal("app.ini", 0);
  const pid_t z = sos("app.ini", 1);
  core->on_exit(z, exited(26), at(2));
  EXPECT_FALSE(has("app.ini:zerg"));
  EXPECT_EQ(core->zerg_count(), 0u);
  EXPECT_GT(sos("app.ini", 3), 0);
}

TEST_F(core_broodlord_test, RemovingTheBaseFileStopsAndRemovesItsZergsOnly) {
  running_vassal("a.ini", 0);
  running_vassal("b.ini", 0);
  const pid_t a1 = ready_zerg("a.ini", 1);
  const pid_t a2 = sos("a.ini", 2);
  core->on_exit(a2, exited(1), at(2.5));  // throttled: waiting with no process
  const pid_t b1 = ready_zerg("b.ini", 3);
  ASSERT_EQ(core->zerg_count(), 3u);
  const pid_t base = pid_of("a.ini");
  remove("a.ini", 4);
  EXPECT_EQ(sent(base), (std::vector<std::uint8_t>{0}));
  EXPECT_EQ(sent(a1), (std::vector<std::uint8_t>{0}));
  EXPECT_EQ(v("a.ini:zerg").state, vassal_state::stopping);
  EXPECT_FALSE(has("a.ini:zerg:2"));  // no process: gone at once
  EXPECT_EQ(core->blacklist().count("a.ini:zerg:2"), 0u);
  EXPECT_EQ(core->zerg_count(), 2u);
  core->on_exit(a1, exited(0), at(5));
  core->on_exit(base, exited(0), at(5));
  EXPECT_FALSE(has("a.ini:zerg"));
  EXPECT_FALSE(has("a.ini"));
  EXPECT_EQ(core->zerg_count(), 1u);
  EXPECT_TRUE(sent(b1).empty());
  EXPECT_EQ(v("b.ini:zerg").state, vassal_state::running);
  core->on_tick(at(100));
  EXPECT_EQ(rec.launches.size(), 5u);  // nothing restarted
}

TEST_F(core_broodlord_test, TouchingTheBaseFileReloadsItsZergs) {
  running_vassal("a.ini", 0);
  running_vassal("b.ini", 0);
  const pid_t a1 = ready_zerg("a.ini", 1);
  const pid_t a2 = ready_zerg("a.ini", 2);
  const pid_t b1 = ready_zerg("b.ini", 3);
  change(file("a.ini", 9), 4);
  EXPECT_EQ(sent(pid_of("a.ini")), (std::vector<std::uint8_t>{1}));
  EXPECT_EQ(sent(a1), (std::vector<std::uint8_t>{1}));
  EXPECT_EQ(sent(a2), (std::vector<std::uint8_t>{1}));
  EXPECT_TRUE(sent(b1).empty());
  EXPECT_EQ(v("a.ini:zerg").file.mtime, 9);
  EXPECT_EQ(v("a.ini:zerg").file.name, "a.ini:zerg");
  EXPECT_EQ(v("a.ini:zerg:2").file.mtime, 9);
  EXPECT_EQ(rec.launches.size(), 5u);
}

TEST_F(core_broodlord_test, TouchingTheBaseFileRestartsAThrottledZergNow) {
  running_vassal("a.ini", 0);
  const pid_t z = sos("a.ini", 1);
  core->on_exit(z, exited(1), at(2));  // throttled until 3
  change(file("a.ini", 9), 2.5);
  ASSERT_EQ(rec.launches.size(), 3u);
  EXPECT_EQ(rec.launches[2].name, "a.ini:zerg");
  EXPECT_EQ(v("a.ini:zerg").state, vassal_state::running);
}

TEST_F(core_broodlord_test, RagnarokStopsZergsAndStartsNoMore) {
  running_vassal("app.ini", 0);
  const pid_t z = ready_zerg("app.ini", 1);
  core->stop_all(at(2));
  EXPECT_EQ(sent(z), (std::vector<std::uint8_t>{0}));
  EXPECT_EQ(sos("app.ini", 2.5), -1);
  core->on_exit(z, exited(0), at(3));
  core->on_exit(rec.pids[0], exited(0), at(3));
  EXPECT_TRUE(core->finished());
}

}  // namespace
}  // namespace brood::emperor::testing

namespace brood::emperor::testing {
namespace {

using wire::vassal_message;

// Broodlord across a legion (docs/legion.md "Placement"): the SOS of a placed vassal goes to the
// handler, and a zerg placed here starts from its base's file though the base is not here.
class core_legion_zerg_test : public core_fixture {
 protected:
  void SetUp() override {
    emperor_config cfg;
    cfg.sources = {"/etc/vassals"};
    cfg.broodlord = 3;
    make_core(cfg);
  }
};

TEST_F(core_legion_zerg_test, AnSosOfAPlacedVassalGoesToTheHandler) {
  std::vector<std::string> passed;
  core->set_sos_handler([&](const std::string& name) {
    passed.push_back(name);
    return name == "placed.ini";
  });
  for (const char* name : {"placed.ini", "local.ini"}) {
    add(file(name), 0);
    message(pid_of(name), vassal_message::ready, 0);
  }
  message(pid_of("placed.ini"), vassal_message::sos, 1);
  EXPECT_EQ(rec.launches.size(), 2u) << "no local zerg for a placed vassal";
  message(pid_of("local.ini"), vassal_message::sos, 2);
  EXPECT_EQ(rec.launches.size(), 3u) << "the others start theirs here";
  EXPECT_EQ(rec.launches.back().name, "local.ini:zerg");
  EXPECT_EQ(passed, (std::vector<std::string>{"placed.ini", "local.ini"}));
}

TEST_F(core_legion_zerg_test, AZergPlacedHereRunsTheZergSectionOfItsBase) {
  ASSERT_TRUE(core->add_zerg(file("app.ini"), "app.ini:zerg:2", at(1)));
  ASSERT_EQ(rec.launches.size(), 1u);
  EXPECT_EQ(rec.launches[0].name, "app.ini:zerg:2");
  EXPECT_EQ(rec.launches[0].argv,
            (std::vector<std::string>{"/usr/bin/brood", "--ini", "/etc/vassals/app.ini:zerg"}));
  EXPECT_EQ(v("app.ini:zerg:2").zerg_of, "app.ini");
  EXPECT_FALSE(core->add_zerg(file("app.ini"), "app.ini:zerg:2", at(2)));  // the name is taken
  // 22: it retires and its record goes (no respawn).
  message(pid_of("app.ini:zerg:2"), vassal_message::ready, 2);
  const pid_t z = pid_of("app.ini:zerg:2");
  message(z, vassal_message::idle, 3);
  core->on_exit(z, exited(0), at(4));
  EXPECT_FALSE(core->vassals().count("app.ini:zerg:2"));
}

}  // namespace
}  // namespace brood::emperor::testing
