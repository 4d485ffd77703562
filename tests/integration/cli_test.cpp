// The `brood` command as a person uses it: --help, --version, bad options, ini files, call, ping.
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "node_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

class cli_test : public node_fixture {
 protected:
  std::string temp_file(const std::string& name, const std::string& text) {
    std::string path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }
  temp_dir dir_{"brood-cli-"};
};

TEST_F(cli_test, VersionAndHelp) {
  auto v = run_brood({"--version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_NE(v.output.find("brood "), std::string::npos) << v.output;
  auto h = run_brood({"--help"});
  EXPECT_EQ(h.status, 0);
  for (auto opt : {"socket", "processes", "master", "buffer-size", "max-vars", "socket-timeout",
                   "ini", "listen"})
    EXPECT_NE(h.output.find(opt), std::string::npos) << opt << " missing from --help";
}

TEST_F(cli_test, UnknownOptionIsAnErrorThatNamesIt) {
  auto r = run_brood({"--socket", "127.0.0.1:0", "--frobnicate", "3"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("frobnicate"), std::string::npos) << r.output;
}

TEST_F(cli_test, BadValueIsAnErrorThatNamesIt) {
  auto r = run_brood({"--socket", "127.0.0.1:0", "--buffer-size", "70000"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("buffer-size"), std::string::npos) << r.output;
}

TEST_F(cli_test, MissingIniFileIsNamed) {
  auto r = run_brood({"--ini", "/nonexistent/brood.ini"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("/nonexistent/brood.ini"), std::string::npos) << r.output;
}

TEST_F(cli_test, NodeFromIniSectionAnswersCallAndPing) {
  auto ini = temp_file("node.ini",
                       "[uwsgi]\nsocket = 127.0.0.1:1\n\n[brood]\nsocket = 127.0.0.1:0\n"
                       "master = true\nprocesses = 2\n");
  nodes_.push_back(std::make_unique<node_process>(
      BROOD_BINARY, std::vector<std::string>{"--ini", ini + ":brood"}));
  auto address = node().wait_bound_address();
  ASSERT_FALSE(address.empty()) << node().all_output();
  ASSERT_TRUE(node().wait_ready()) << node().all_output();

  auto ping = run_brood({"ping", address});
  EXPECT_EQ(ping.status, 0) << ping.output;
  EXPECT_NE(ping.output.find("PONG"), std::string::npos) << ping.output;

  // The plain brood node has no message handler: the call fails with a remote error, exit 1.
  auto call =
      run_brood({"call", address, "--modifier1", "33", "--modifier2", "17", "--json", "[1, 2]"});
  EXPECT_EQ(call.status, 1) << call.output;
}

TEST_F(cli_test, CallPrintsTheAnswerAsJson) {
  auto address = start_node();
  auto call = run_brood({"call", address, "--modifier2", "0", "--json", R"({"a": [1, 2.5, "x"]})"});
  EXPECT_EQ(call.status, 0) << call.output;
  EXPECT_NE(call.output.find(R"("a")"), std::string::npos) << call.output;
  EXPECT_NE(call.output.find("2.5"), std::string::npos) << call.output;
}

TEST_F(cli_test, PingOfADeadNodeFails) {
  auto r = run_brood({"ping", dead_address(), "--timeout", "1"});
  EXPECT_EQ(r.status, 1) << r.output;
}

}  // namespace
}  // namespace brood::testing
