// parse_address and address::to_string: the address forms uWSGI accepts.
#include "brood/os/address.hpp"

#include <gtest/gtest.h>

namespace brood::os {
namespace {

class address_test : public ::testing::Test {
 protected:
  address parse_ok(std::string_view text) {
    auto a = os::parse_address(text);
    EXPECT_TRUE(a.ok()) << text << ": " << a.error().message();
    return a ? *a : address{};
  }
  std::string parse_bad(std::string_view text) {
    auto a = os::parse_address(text);
    EXPECT_FALSE(a.ok()) << text;
    EXPECT_FALSE(a.error().message().empty()) << text;
    return a.error().message();
  }
};

TEST_F(address_test, HostAndPortIsTcp) {
  address a = parse_ok("127.0.0.1:3031");
  EXPECT_EQ(a.type, os::address::kind::tcp);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 3031);
  EXPECT_EQ(a.to_string(), "127.0.0.1:3031");
}

TEST_F(address_test, ColonPortMeansAllInterfaces) {
  address a = parse_ok(":8000");
  EXPECT_EQ(a.type, os::address::kind::tcp);
  EXPECT_TRUE(a.host.empty());
  EXPECT_EQ(a.port, 8000);
  EXPECT_EQ(a.to_string(), ":8000");
}

TEST_F(address_test, HostnameAndPortZero) {
  address a = parse_ok("localhost:0");
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 0);
  EXPECT_EQ(parse_ok("h:65535").port, 65535);
}

TEST_F(address_test, BracketedIpv6) {
  address a = parse_ok("[::1]:3031");
  EXPECT_EQ(a.type, os::address::kind::tcp);
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 3031);
  EXPECT_EQ(a.to_string(), "[::1]:3031");
}

TEST_F(address_test, NoColonIsUnixPath) {
  address a = parse_ok("/tmp/brood.sock");
  EXPECT_EQ(a.type, os::address::kind::unix_path);
  EXPECT_EQ(a.path, "/tmp/brood.sock");
  EXPECT_EQ(a.to_string(), "/tmp/brood.sock");
  EXPECT_EQ(parse_ok("relative.sock").path, "relative.sock");
}

TEST_F(address_test, UnixPrefixIsUnixPathEvenWithColons) {
  address a = parse_ok("unix:/tmp/a:b.sock");
  EXPECT_EQ(a.type, os::address::kind::unix_path);
  EXPECT_EQ(a.path, "/tmp/a:b.sock");
  EXPECT_EQ(a.to_string(), "unix:/tmp/a:b.sock");
  EXPECT_EQ(parse_ok(a.to_string()), a);
  EXPECT_EQ(parse_ok("unix:/tmp/x.sock").path, "/tmp/x.sock");
}

TEST_F(address_test, RoundTrips) {
  for (const char* text : {"127.0.0.1:1", ":2", "/a/b", "[fe80::1]:9", "node-7:3031"}) {
    EXPECT_EQ(parse_ok(text).to_string(), text);
  }
}

TEST_F(address_test, PortOutOfRangeNamesIt) {
  std::string why = parse_bad("127.0.0.1:70000");
  EXPECT_EQ(why, "port 70000 out of range in \"127.0.0.1:70000\"");
  parse_bad("127.0.0.1:99999999999999999999");
}

TEST_F(address_test, BadFormsAreRejected) {
  EXPECT_NE(parse_bad("127.0.0.1:abc").find("bad port"), std::string::npos);
  EXPECT_NE(parse_bad("127.0.0.1:").find("missing port"), std::string::npos);
  EXPECT_NE(parse_bad("127.0.0.1:-1").find("bad port"), std::string::npos);
  EXPECT_NE(parse_bad("").find("empty"), std::string::npos);
  EXPECT_NE(parse_bad("unix:").find("empty"), std::string::npos);
  parse_bad("[::1:3031");
}

TEST_F(address_test, WhyMayBeNull) {
  EXPECT_FALSE(os::parse_address("x:y").ok());
  EXPECT_TRUE(os::parse_address("x:1").ok());
}

}  // namespace
}  // namespace brood::os
