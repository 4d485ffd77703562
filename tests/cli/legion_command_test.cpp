// `brood legion ADDR` (cli/src/legion_command.cpp, docs/legion.md "brood legion ADDR"): usage
// errors, the name and secret taken from an ini file, and the error of an address where nothing
// listens. The answered query is tested against real members (tests/python/test_legion_api.py)
// and a scripted one (tests/legion/query_test.cpp).
#include "legion_command.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace brood::cli {
namespace {

struct outcome {
  int status = 0;
  std::string out;
  std::string err;
};

outcome run(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  std::streambuf* old_out = std::cout.rdbuf(out.rdbuf());
  std::streambuf* old_err = std::cerr.rdbuf(err.rdbuf());
  outcome o;
  o.status = run_legion(args);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

// A loopback TCP port nobody listens on (bound, then closed).
std::string dead_address() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

std::string write_ini(const testing::temp_dir& dir, const std::string& text) {
  const std::string path = dir.path() + "/member.ini";
  std::ofstream(path) << text;
  return path;
}

TEST(legion_command_test, HelpAndUsageErrors) {
  outcome o = run({"--help"});
  EXPECT_EQ(o.status, 0);
  EXPECT_NE(o.out.find("Usage: brood legion ADDR"), std::string::npos) << o.out;
  o = run({});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("missing ADDR"), std::string::npos) << o.err;
  o = run({"127.0.0.1:4001", "--legion", "web"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("--legion NAME --secret S"), std::string::npos) << o.err;
  o = run({"127.0.0.1:4001", "--frobnicate"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("unknown option"), std::string::npos) << o.err;
}

TEST(legion_command_test, NothingListeningIsStatusOne) {
  const std::string address = dead_address();
  const outcome o = run({address, "--legion", "web", "--secret", "s", "--timeout", "0.3"});
  EXPECT_EQ(o.status, 1);
  EXPECT_NE(o.err.find("cannot connect to " + address), std::string::npos) << o.err;
}

TEST(legion_command_test, NameAndSecretFromTheIniLineOfThatAddress) {
  testing::temp_dir dir("brood_legion_cmd_");
  const std::string address = dead_address();
  const std::string ini = write_ini(dir, "[uwsgi]\nlegion = db 127.0.0.1:1 1 other\nlegion = web " +
                                             address + " 10 aes-128-cbc:s3cr3t\n");
  // Accepted (no usage error): the query is sent, and nothing answers.
  const outcome o = run({address, "--ini", ini, "--timeout", "0.3"});
  EXPECT_EQ(o.status, 1) << o.err;
  EXPECT_NE(o.err.find("cannot connect"), std::string::npos) << o.err;
}

TEST(legion_command_test, AnIniWithoutAMatchingLegionIsAUsageError) {
  testing::temp_dir dir("brood_legion_cmd_");
  std::string ini = write_ini(dir, "[uwsgi]\nsocket = :3031\n");
  outcome o = run({"127.0.0.1:4001", "--ini", ini});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("has no `legion` line"), std::string::npos) << o.err;

  ini = write_ini(dir, "[uwsgi]\nlegion = a 127.0.0.1:1 1 s\nlegion = b 127.0.0.1:2 1 s\n");
  o = run({"127.0.0.1:4001", "--ini", ini});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("name the legion with --legion (2 legions there)"), std::string::npos)
      << o.err;

  ini = write_ini(dir, "[uwsgi]\nlegion = web 127.0.0.1:1 notanumber s\n");
  o = run({"127.0.0.1:4001", "--ini", ini});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("line 2"), std::string::npos) << o.err;

  o = run({"127.0.0.1:4001", "--ini", dir.path() + "/missing.ini"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("missing.ini"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace brood::cli
