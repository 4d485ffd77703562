// Broodlord end to end (docs/uwsgi-compat.md §5.1): a real `brood --emperor DIR
// --emperor-broodlord N` and a real brood vassal whose file has a [zerg] section. The SOS comes
// from the vassal's master FIFO (`B`); the zerg binds its own socket (zerg mode attach is tested
// elsewhere), shows in emperor-stats with "zerg": 1, retires on idle without being respawned,
// reloads when its base file is touched and stops when it is removed.
#include <fcntl.h>

#include "emperor_fixture.hpp"

namespace brood::testing {
namespace {

class emperor_broodlord_test : public emperor_fixture {
 protected:
  std::string fifo() const { return dir_ / "a.fifo"; }

  // Writes a.ini: the vassal (master FIFO, 1 process) and its [zerg] section plus `zerg_more`.
  std::string write_base(const std::string& zerg_more) {
    const std::string address = fresh_address();
    std::ofstream(vassals() / "a.ini")
        << "[uwsgi]\nsocket = " << address << "\nprocesses = 1\nmaster-fifo = " << fifo()
        << "\n\n[zerg]\nsocket = 127.0.0.1:0\nprocesses = 1\n"
        << zerg_more;
    return address;
  }

  // Writes `bytes` to the vassal's master FIFO (once its master reads it).
  bool send_fifo(const std::string& bytes) {
    int fd = -1;
    const bool opened = eventually([&] {
      fd = ::open(fifo().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      return fd >= 0;  // ENOENT or ENXIO (no reader yet): try again
    });
    if (!opened) return false;
    const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
    ::close(fd);
    return ok;
  }

  bool vassal_ready(const std::string& id) {
    return eventually([&] {
      auto v = vassal(id);
      return v.is_object() && v["ready"] == 1;
    });
  }
};

TEST_F(emperor_broodlord_test, SosStartsAZergThatRetiresOnIdleAndIsNotRespawned) {
  const std::string address = write_base("idle = 1\ndie-on-idle = true\n");
  start_emperor({"--emperor-broodlord", "2"});
  ASSERT_TRUE(vassal_ready("a.ini")) << output();
  ASSERT_TRUE(send_fifo("B")) << output();
  EXPECT_TRUE(logged(R"(asking the emperor for reinforcements \(SOS\))")) << output();
  EXPECT_TRUE(logged(R"(a\.ini: SOS, starting zerg a\.ini:zerg \(1 of 2\))")) << output();
  EXPECT_TRUE(logged(R"(vassal a\.ini:zerg: spawned \(pid [0-9]+\))")) << output();
  // idle = 1: about two seconds later the zerg asks to stop (22) and its record goes.
  EXPECT_TRUE(logged(R"(a\.ini:zerg \(pid [0-9]+\): idle, stopping the zerg)")) << output();
  EXPECT_TRUE(logged(R"(zergs: 0 of 2)")) << output();
  EXPECT_TRUE(eventually([&] { return stats().is_object() && vassal("a.ini:zerg").is_null(); }))
      << output();
  // Not respawned: nothing starts again within a rescan and a throttle period.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(count(R"(a\.ini:zerg: spawned)"), 1u) << output();
  EXPECT_TRUE(vassal("a.ini:zerg").is_null()) << output();
  EXPECT_TRUE(ping_ok(address)) << "the vassal itself serves on";
  EXPECT_EQ(vassal("a.ini")["zerg"], 0);
}

TEST_F(emperor_broodlord_test, TheLimitHoldsAndZergsFollowTheirBaseFile) {
  write_base("");
  start_emperor({"--emperor-broodlord", "1"});
  ASSERT_TRUE(vassal_ready("a.ini")) << output();
  ASSERT_TRUE(send_fifo("B")) << output();
  ASSERT_TRUE(vassal_ready("a.ini:zerg")) << output();
  const nlohmann::json z = vassal("a.ini:zerg");
  EXPECT_EQ(z["zerg"], 1) << z.dump();
  EXPECT_EQ(z["monitor"], vassals().string());
  const pid_t zpid = z["pid"].get<pid_t>();
  ASSERT_GT(zpid, 0);
  // emperor-broodlord 1: a second SOS starts nothing.
  ASSERT_TRUE(send_fifo("B")) << output();
  EXPECT_TRUE(logged(R"(SOS ignored: emperor-broodlord limit reached \(1 zergs in all\))"))
      << output();
  EXPECT_EQ(stats()["vassals"].size(), 2u) << output();
  // A touch reloads the vassal and its zerg (the same processes).
  touch("a.ini");
  EXPECT_TRUE(logged(R"(zerg a\.ini:zerg \(pid [0-9]+\): base file changed, reload sent)"))
      << output();
  EXPECT_TRUE(eventually([&] { return count(R"(workers reloaded \(reload 1\))") == 2; }))
      << output();
  EXPECT_EQ(vassal("a.ini:zerg")["pid"].get<pid_t>(), zpid);
  // The base file goes: the vassal and its zerg stop, and both records go.
  fs::remove(vassals() / "a.ini");
  EXPECT_TRUE(logged(R"(zerg a\.ini:zerg \(pid [0-9]+\): base file removed, stopping)"))
      << output();
  EXPECT_TRUE(eventually([&] {
    auto doc = stats();
    return doc.is_object() && doc["vassals"].empty();
  })) << output();
  EXPECT_FALSE(alive(zpid)) << "reaped by the emperor";
}

}  // namespace
}  // namespace brood::testing
