// resolve_address and describe_socket_address: the one resolver of brood, for both sides of a
// socket (bind and connect).
#include "brood/os/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <string>

#include <gtest/gtest.h>

namespace brood::os {
namespace {

class socket_address_test : public ::testing::Test {
 protected:
  static socket_address resolve_ok(std::string_view text, resolve_for purpose) {
    auto a = parse_address(text);
    EXPECT_TRUE(a) << text << ": " << a.error().message();
    if (!a) return {};
    auto r = resolve_address(*a, purpose);
    EXPECT_TRUE(r) << text << ": " << r.error().message();
    return r ? *r : socket_address{};
  }
  static status resolve_bad(std::string_view text, resolve_for purpose) {
    auto a = parse_address(text);
    EXPECT_TRUE(a) << text;
    if (!a) return {};
    auto r = resolve_address(*a, purpose);
    EXPECT_FALSE(r) << text;
    return r.error();
  }
  static std::string describe(const socket_address& s) {
    return describe_socket_address(s.get(), s.size);
  }
};

TEST_F(socket_address_test, Ipv4Literal) {
  socket_address s = resolve_ok("127.0.0.1:3031", resolve_for::connect);
  EXPECT_EQ(s.family(), AF_INET);
  EXPECT_EQ(s.size, sizeof(sockaddr_in));
  EXPECT_EQ(describe(s), "127.0.0.1:3031");
}

TEST_F(socket_address_test, EmptyHostIsAnyToBindAndLoopbackToConnect) {
  EXPECT_EQ(describe(resolve_ok(":8000", resolve_for::bind)), "0.0.0.0:8000");
  EXPECT_EQ(describe(resolve_ok(":8000", resolve_for::connect)), "127.0.0.1:8000");
}

TEST_F(socket_address_test, Ipv6LiteralWithOrWithoutBrackets) {
  socket_address s = resolve_ok("[::1]:9", resolve_for::connect);
  EXPECT_EQ(s.family(), AF_INET6);
  EXPECT_EQ(describe(s), "[::1]:9");
  address raw;  // as a caller may build it, brackets kept in the host
  raw.host = "[::1]";
  raw.port = 10;
  auto r = resolve_address(raw, resolve_for::bind);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(describe(*r), "[::1]:10");
}

TEST_F(socket_address_test, Ipv6WithAZoneIsReadWithoutAQuery) {
  socket_address s = resolve_ok("[fe80::1%lo]:9", resolve_for::connect);
  EXPECT_EQ(s.family(), AF_INET6);
  EXPECT_NE(reinterpret_cast<const sockaddr_in6*>(s.get())->sin6_scope_id, 0u);
  status e = resolve_bad("[fe80::1%no-such-if0]:9", resolve_for::connect);
  EXPECT_EQ(e.code(), std::errc::address_not_available);
  EXPECT_EQ(e.message().rfind("cannot resolve host \"fe80::1%no-such-if0\": ", 0), 0u)
      << e.message();
}

TEST_F(socket_address_test, LocalhostPrefersIpv4) {
  socket_address s = resolve_ok("localhost:77", resolve_for::connect);
  EXPECT_EQ(s.family(), AF_INET);
  EXPECT_EQ(describe(s), "127.0.0.1:77");
}

TEST_F(socket_address_test, ImplausibleHostIsRejectedWithoutAQuery) {
  for (const char* text : {"bad..host:1", "no host!:1", ".lead:1", "a/b:1"}) {
    status e = resolve_bad(text, resolve_for::connect);
    EXPECT_EQ(e.code(), std::errc::address_not_available) << text;
    EXPECT_EQ(e.message().rfind("invalid host name \"", 0), 0u) << e.message();
  }
}

TEST_F(socket_address_test, UnknownHostSaysItCannotBeResolved) {
  status e = resolve_bad("no-such-host.invalid:1", resolve_for::connect);
  EXPECT_EQ(e.code(), std::errc::address_not_available);
  EXPECT_EQ(e.message().rfind("cannot resolve host \"no-such-host.invalid\": ", 0), 0u)
      << e.message();
}

TEST_F(socket_address_test, UnixPath) {
  socket_address s = resolve_ok("/tmp/brood.sock", resolve_for::bind);
  EXPECT_EQ(s.family(), AF_UNIX);
  EXPECT_EQ(s.size, offsetof(sockaddr_un, sun_path) + std::string("/tmp/brood.sock").size() + 1);
  EXPECT_EQ(describe(s), "/tmp/brood.sock");
}

TEST_F(socket_address_test, AtNameIsAbstractOnlyToConnect) {
  socket_address c = resolve_ok("@brood", resolve_for::connect);
  EXPECT_EQ(c.size, offsetof(sockaddr_un, sun_path) + 6);
  EXPECT_EQ(reinterpret_cast<const sockaddr_un*>(c.get())->sun_path[0], '\0');
  EXPECT_EQ(describe(c), "@brood");
  socket_address b = resolve_ok("@brood", resolve_for::bind);
  EXPECT_EQ(describe(b), "@brood");
  EXPECT_EQ(reinterpret_cast<const sockaddr_un*>(b.get())->sun_path[0], '@');
}

TEST_F(socket_address_test, TooLongUnixPathSaysTheLimit) {
  const std::string path = "/tmp/" + std::string(200, 'x');
  status e = resolve_bad(path, resolve_for::connect);
  EXPECT_EQ(e.code(), std::errc::filename_too_long);
  EXPECT_EQ(e.message(), "unix socket path must be 1..107 bytes long (it has 205)");
}

TEST_F(socket_address_test, DescribeOfAnUnknownFamilyOrShortLength) {
  sockaddr_storage ss{};
  ss.ss_family = AF_PACKET;
  EXPECT_EQ(describe_socket_address(reinterpret_cast<const sockaddr*>(&ss), sizeof ss), "?");
  ss.ss_family = AF_INET;
  EXPECT_EQ(describe_socket_address(reinterpret_cast<const sockaddr*>(&ss), 4), "?");
  EXPECT_EQ(local_name(-1), "?");
}

}  // namespace
}  // namespace brood::os
