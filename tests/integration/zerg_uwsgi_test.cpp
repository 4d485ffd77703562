// Zerg mode interop with real uWSGI 2.0.21, both ways: a brood zerg attaches to a uWSGI master's
// zerg server and serves on its port; a uWSGI zerg attaches to a brood master's zerg server and
// serves on its port. uWSGI is killed with SIGKILL at the end (SIGTERM makes it reload). Skipped
// when uwsgi is not installed.
#include <unistd.h>

#include <string>

#include "zerg_fixture.hpp"

namespace brood::testing {
namespace {

class zerg_uwsgi_test : public zerg_fixture {
 protected:
  void SetUp() override {
    if (::access(uwsgi_binary, X_OK) != 0) GTEST_SKIP() << "uwsgi is not installed";
    zerg_fixture::SetUp();
  }
};

TEST_F(zerg_uwsgi_test, ABroodZergServesForAUwsgiMaster) {
  node_process& master =
      start(uwsgi_binary, {"--plugin", "python3", "--master", "--zerg-server", server_path(),
                           "--socket", "127.0.0.1:0", "--wsgi-file", write_app()});
  auto bound = master.wait_for_line(std::regex(R"(uwsgi socket 0 bound to TCP address (\S+))"));
  ASSERT_TRUE(bound) << master.all_output();
  const std::string address = (*bound)[1];
  ASSERT_TRUE(master.wait_for("*** Zerg server enabled on " + server_path() + " ***"))
      << master.all_output();
  ASSERT_TRUE(eventually([&] { return uwsgi_pid(address) > 0; })) << master.all_output();
  node_process* zerg = nullptr;
  EXPECT_EQ(start_brood_zerg(zerg), address) << zerg->all_output();
  const auto pids = zerg->worker_pids();
  ASSERT_EQ(pids.size(), 1u) << zerg->all_output();
  EXPECT_TRUE(answered_by(address, pids[0], brood_pid)) << zerg->all_output();
}

TEST_F(zerg_uwsgi_test, AUwsgiZergServesForABroodMaster) {
  const std::string address = start_brood_master();
  node_process& zerg = start(
      uwsgi_binary, {"--plugin", "python3", "--zerg", server_path(), "--wsgi-file", write_app()});
  ASSERT_TRUE(zerg.wait_for("uwsgi zerg socket 0 attached to INET address " + address))
      << zerg.all_output();
  // without a master: "spawned uWSGI worker 1 (and the only) (pid: P, cores: 1)"
  auto spawned = zerg.wait_for_line(std::regex(R"(spawned uWSGI worker 1 .*\(pid: (\d+))"));
  ASSERT_TRUE(spawned) << zerg.all_output();
  EXPECT_TRUE(answered_by(address, std::stoll((*spawned)[1]), uwsgi_pid)) << zerg.all_output();
  EXPECT_TRUE(procs_[0]->wait_for("1 sockets handed to a zerg")) << procs_[0]->all_output();
  // brood's own worker still answers too (a uWSGI zerg may take a ping and not answer it)
  EXPECT_TRUE(eventually([&] { return brood_pid(address) > 0; }));
}

}  // namespace
}  // namespace brood::testing
