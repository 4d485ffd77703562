// Zerg mode between brood processes (docs/uwsgi-compat.md §6): a zerg attaches to a master's
// sockets and serves on its port (more than 8 sockets too), shows them in stats; the zerg server
// is 0600, refuses other uids (SO_PEERCRED), shrugs off garbage and clients that never read;
// attach failure exits with an error, zerg-fallback binds instead; reuse-port shares a port.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "zerg_fixture.hpp"

namespace brood::testing {
namespace {

using zerg_test = zerg_fixture;

std::string read_all(const std::string& address) {
  raw_socket s(address);
  return s.connected() ? s.read_to_eof(2s).value_or("") : "";
}

TEST_F(zerg_test, AZergServesOnTheMastersPort) {
  const std::string address = start_brood_master();
  node_process* zerg = nullptr;
  const std::string stats = dir_.path() + "/zerg-stats.sock";
  EXPECT_EQ(start_brood_zerg(zerg, {"--processes", "2", "--stats", stats}), address)
      << zerg->all_output();
  EXPECT_TRUE(procs_[0]->wait_for("zerg server: 1 sockets handed to a zerg"));
  const auto pids = zerg->worker_pids();
  ASSERT_EQ(pids.size(), 2u) << zerg->all_output();
  EXPECT_TRUE(answered_by(address, pids[0], brood_pid) || answered_by(address, pids[1], brood_pid));
  const std::string doc = read_all(stats);
  EXPECT_NE(doc.find("\"" + address + "\""), std::string::npos) << doc;
  // The zerg's exit leaves the master's socket alone.
  zerg->kill_all();
  EXPECT_TRUE(ping_ok(address));
}

TEST_F(zerg_test, MoreThanEightSocketsTakeASecondConnection) {
  std::vector<std::string> extra;
  for (int i = 0; i < 9; ++i) extra.insert(extra.end(), {"--socket", "127.0.0.1:0"});
  start_brood_master(extra);
  node_process* zerg = nullptr;
  start_brood_zerg(zerg);
  ASSERT_TRUE(zerg->wait_for_line(std::regex("uwsgi zerg socket 9 attached to INET address")))
      << zerg->all_output();
  EXPECT_TRUE(zerg->wait_ready());
  EXPECT_EQ(zerg->count_lines(std::regex("attached to INET address")), 10u);
  // the first connection brought no fds (room for 8), the second all ten
  EXPECT_TRUE(procs_[0]->wait_for("10 sockets handed to a zerg", 2));
}

TEST_F(zerg_test, AUnixSocketIsAttachedAndLeftInPlace) {
  const std::string unix_socket = dir_.path() + "/node.sock";
  const std::string address = start_brood_master({"--socket", unix_socket});
  node_process* zerg = nullptr;
  EXPECT_EQ(start_brood_zerg(zerg), address);
  EXPECT_TRUE(zerg->wait_for("uwsgi zerg socket 1 attached to UNIX address " + unix_socket))
      << zerg->all_output();
  const auto pids = zerg->worker_pids();
  ASSERT_EQ(pids.size(), 1u) << zerg->all_output();
  EXPECT_TRUE(answered_by(unix_socket, pids[0], brood_pid));
  // A zerg that stops (SIGINT: its own clean exit) leaves the master's socket file alone.
  zerg->signal(SIGINT);
  ASSERT_TRUE(zerg->wait_exit(10s)) << zerg->all_output();
  EXPECT_TRUE(zerg->wait_for("goodbye to uWSGI."));
  EXPECT_TRUE(ping_ok(unix_socket));
}

TEST_F(zerg_test, TheServerSocketIsOwnerOnly) {
  start_brood_master();
  struct stat st {};
  ASSERT_EQ(::stat(server_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(zerg_test, GarbageFromAClientChangesNothing) {
  const std::string address = start_brood_master();
  {
    raw_socket junk(server_path());
    ASSERT_TRUE(junk.connected());
    junk.send(wire::as_bytes(std::string(10000, '\x07')));
    junk.readable(2s);
  }
  raw_socket s(server_path());
  auto framing = s.read_exact(14);
  ASSERT_TRUE(framing);
  EXPECT_EQ(std::string(framing->begin(), framing->begin() + 10), "uwsgi-zerg");
  EXPECT_TRUE(ping_ok(address));
}

// A process of uid `uid` connects to the zerg server: 0 when it got no byte before the server
// closed, 10 when it could not connect (EACCES), 1 otherwise.
int connect_as(int uid, const std::string& path) {
  if (::setgid(uid) != 0 || ::setuid(uid) != 0) return 2;
  raw_socket s(path);
  if (!s.connected()) return s.error() == EACCES ? 10 : 3;
  return s.closed_by_peer(3s) ? 0 : 1;
}

TEST_F(zerg_test, AnotherUidGetsNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as nobody";
  const std::string address = start_brood_master();
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0711), 0);  // nobody may reach the socket file
  node_process denied;                               // and its mode stops it
  denied.start([&] { return connect_as(65534, server_path()); });
  auto st = denied.wait_exit(5s);
  ASSERT_TRUE(st && WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 10);
  // With the file opened up, SO_PEERCRED still refuses it.
  ASSERT_EQ(::chmod(server_path().c_str(), 0666), 0);
  node_process refused;
  refused.start([&] { return connect_as(65534, server_path()); });
  st = refused.wait_exit(5s);
  ASSERT_TRUE(st && WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 0);
  EXPECT_TRUE(procs_[0]->wait_for("zerg server: refused a client of uid 65534"))
      << procs_[0]->all_output();
  EXPECT_EQ(procs_[0]->count_lines(std::regex("handed to a zerg")), 0u);
  EXPECT_TRUE(ping_ok(address));
}

TEST_F(zerg_test, ClientsThatNeverReadDoNotBlockTheMaster) {
  const std::string stats = dir_.path() + "/stats.sock";
  const std::string address = start_brood_master({"--stats", stats});
  std::vector<std::unique_ptr<raw_socket>> idle;
  for (int i = 0; i < 200; ++i) idle.push_back(std::make_unique<raw_socket>(server_path()));
  EXPECT_NE(read_all(stats).find("\"workers\""), std::string::npos);
  node_process* zerg = nullptr;
  EXPECT_EQ(start_brood_zerg(zerg), address) << procs_[0]->all_output();
  EXPECT_TRUE(ping_ok(address));
}

TEST_F(zerg_test, NoServerIsAnErrorExit) {
  node_process& zerg = start(BROOD_PRIMES_NODE, {"--zerg", server_path()});
  auto st = zerg.wait_exit(10s);
  ASSERT_TRUE(st && WIFEXITED(*st)) << zerg.all_output();
  EXPECT_NE(WEXITSTATUS(*st), 0);
  EXPECT_TRUE(zerg.wait_for("cannot attach to the zerg server " + server_path()))
      << zerg.all_output();
}

TEST_F(zerg_test, ZergFallbackBindsItsOwnSockets) {
  node_process& zerg = start(
      BROOD_PRIMES_NODE, {"--zerg", server_path(), "--zerg-fallback", "--socket", "127.0.0.1:0"});
  const std::string address = zerg.wait_bound_address();
  ASSERT_FALSE(address.empty()) << zerg.all_output();
  EXPECT_TRUE(zerg.wait_ready());
  EXPECT_TRUE(zerg.wait_for("zerg-fallback: going on without it"));
  EXPECT_TRUE(ping_ok(address));
}

TEST_F(zerg_test, ReusePortLetsIndependentNodesShareAPort) {
  node_process& first = start(BROOD_PRIMES_NODE, {"--socket", "127.0.0.1:0", "--reuse-port"});
  const std::string address = first.wait_bound_address();
  ASSERT_FALSE(address.empty()) << first.all_output();
  node_process& second = start(BROOD_PRIMES_NODE, {"--socket", address, "--reuse-port"});
  EXPECT_EQ(second.wait_bound_address(), address) << second.all_output();
  EXPECT_TRUE(second.wait_ready());
  node_process& plain = start(BROOD_PRIMES_NODE, {"--socket", address});
  auto st = plain.wait_exit(10s);
  ASSERT_TRUE(st && WIFEXITED(*st));
  EXPECT_NE(WEXITSTATUS(*st), 0);
  EXPECT_TRUE(plain.wait_for("Address already in use")) << plain.all_output();
}

}  // namespace
}  // namespace brood::testing
