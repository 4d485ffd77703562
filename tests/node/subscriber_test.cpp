// The subscription client's datagrams: byte for byte against what uWSGI 2.0.21 sent for the same
// options (captured with a UDP socket on 2026-12-06), each address source, @FILE key lists,
// check=, signing (verified with the public key), and real UDP and unix datagram sockets.
#include "subscriber.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "brood/wire/subscription.hpp"

namespace brood::node {
namespace {

struct recorded {
  std::string server;
  wire::bytes packet;
};

class recording_out : public datagram_out {
 public:
  std::vector<recorded> sent;
  std::string fail;  // returned when not empty
  std::string send_to(const std::string& server, wire::bytes_view packet) override {
    if (!fail.empty()) return fail;
    sent.push_back({server, wire::bytes(packet.begin(), packet.end())});
    return {};
  }
};

std::string hex(const wire::bytes& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

subscriber_node two_sockets(std::uint64_t cores = 2) {
  return {{"127.0.0.1:0", "127.0.0.1:0"}, {"127.0.0.1:34993", "127.0.0.1:34677"}, cores};
}

// Captured from `uwsgi --master --socket 127.0.0.1:0 --processes 2 --subscribe-to
// 127.0.0.1:47001:foo.it` (the first socket got port 34993).
constexpr const char* uwsgi_foo =
    "e061000003006b65790600666f6f2e69740700616464726573730f003132372e302e302e313a3334393933090"
    "06d6f6469666965723101003009006d6f646966696572320100300500636f72657301003204006c6f61640100"
    "300600776569676874010030";
// ... and `--subscribe2 server=127.0.0.1:47001,key=baz,weight=7,modifier2=3`.
constexpr const char* uwsgi_baz =
    "e05e000003006b6579030062617a0700616464726573730f003132372e302e302e313a33343939330900"
    "6d6f6469666965723101003009006d6f646966696572320100330500636f72657301003204006c6f6164010030"
    "0600776569676874010037";

TEST(subscriber, SubscribeToIsUwsgisPacketByteForByte) {
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe_to("127.0.0.1:47001:foo.it"));
  recording_out out;
  subscriber s(cfg, two_sockets(), out);
  EXPECT_EQ(s.round(false, 0, 0), 1u);
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(out.sent[0].server, "127.0.0.1:47001");
  EXPECT_EQ(hex(out.sent[0].packet), uwsgi_foo);
}

TEST(subscriber, Subscribe2IsUwsgisPacketByteForByte) {
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe2("server=127.0.0.1:47001,key=baz,weight=7,modifier2=3"));
  recording_out out;
  subscriber s(cfg, two_sockets(), out);
  s.round(false, 0, 0);
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(hex(out.sent[0].packet), uwsgi_baz);
}

TEST(subscriber, UnsubscribeSetsModifier2To1) {
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe_to("127.0.0.1:47001:foo.it"));
  recording_out out;
  subscriber s(cfg, two_sockets(), out);
  s.round(true, 0, 0);
  ASSERT_EQ(out.sent.size(), 1u);
  std::string expected = uwsgi_foo;
  expected[7] = '1';  // [224, size, m2 = 1]: what uWSGI sent at its stop
  EXPECT_EQ(hex(out.sent[0].packet), expected);
}

// Decodes a recorded datagram.
wire::subscription decode(const wire::bytes& packet, std::vector<wire::var>& scratch) {
  wire::subscription s;
  wire::bytes_view base;
  const auto r = wire::decode_subscription(packet, scratch, s, base);
  EXPECT_EQ(r.status, wire::decode_status::done) << r.error.message();
  return s;
}

// brood extension (docs/protocol.md §6.1): subscribe2 keepalive=1 adds the datagram's keepalive
// key; without it the packet stays uWSGI's byte for byte (above).
TEST(subscriber, Subscribe2KeepaliveSendsTheKeepaliveKey) {
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe2("server=127.0.0.1:1,key=ka,keepalive=1"));
  cfg.targets.push_back(parse_subscribe2("server=127.0.0.1:1,key=plain,keepalive=0"));
  recording_out out;
  subscriber s(cfg, two_sockets(), out);
  s.round(false, 0, 0);
  ASSERT_EQ(out.sent.size(), 2u);
  std::vector<wire::var> scratch;
  EXPECT_TRUE(decode(out.sent[0].packet, scratch).keepalive);
  EXPECT_FALSE(decode(out.sent[1].packet, scratch).keepalive);
  EXPECT_THROW(parse_subscribe2("server=127.0.0.1:1,key=k,keepalive=2"), std::invalid_argument);
}

TEST(subscriber, AddressSources) {
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe_to("=1=127.0.0.1:1:by-number"));
  cfg.targets.push_back(parse_subscribe_to("127.0.0.1:0=127.0.0.1:1:by-name"));
  cfg.targets.push_back(parse_subscribe_to("10.0.0.9:80=127.0.0.1:1:unknown-name"));
  cfg.targets.push_back(parse_subscribe2("server=127.0.0.1:1,key=addr,addr=/tmp/x.sock"));
  cfg.targets.push_back(parse_subscribe2("server=127.0.0.1:1,key=socket,socket=1"));
  recording_out out;
  subscriber s(cfg, two_sockets(), out);
  s.round(false, 0, 0);
  ASSERT_EQ(out.sent.size(), 5u);
  std::vector<wire::var> scratch;
  EXPECT_EQ(decode(out.sent[0].packet, scratch).address, "127.0.0.1:34677");
  EXPECT_EQ(decode(out.sent[1].packet, scratch).address, "127.0.0.1:34993");  // the first match
  EXPECT_EQ(decode(out.sent[2].packet, scratch).address, "10.0.0.9:80");
  EXPECT_EQ(decode(out.sent[3].packet, scratch).address, "/tmp/x.sock");
  EXPECT_EQ(decode(out.sent[4].packet, scratch).address, "127.0.0.1:34677");
}

TEST(subscriber, ASocketNumberTheNodeLacksIsRefused) {
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe_to("=5=127.0.0.1:1:k"));
  recording_out out;
  try {
    subscriber s(cfg, two_sockets(), out);
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("the node has no socket 5"), std::string::npos);
  }
}

TEST(subscriber, WeightCoresLoadModifiersAndNotify) {
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe_to("127.0.0.1:1:a"));
  cfg.targets.push_back(parse_subscribe_to("127.0.0.1:1:b,9"));
  cfg.targets.push_back(parse_subscribe2("server=127.0.0.1:1,key=c,weight=3"));
  cfg.weight = 5;
  cfg.with_modifier1 = 7;
  cfg.notify_socket = "/run/notify.sock";
  recording_out out;
  subscriber s(cfg, two_sockets(8), out);
  s.round(false, 42, 0);
  ASSERT_EQ(out.sent.size(), 3u);
  std::vector<wire::var> scratch;
  auto a = decode(out.sent[0].packet, scratch);
  EXPECT_EQ(a.cores, 8u);
  EXPECT_EQ(a.load, 42u);
  EXPECT_EQ(a.weight, 5u);
  EXPECT_EQ(a.modifier1, 7);
  EXPECT_EQ(a.notify, "/run/notify.sock");
  EXPECT_FALSE(a.unix_time);
  EXPECT_EQ(decode(out.sent[1].packet, scratch).modifier1, 9);
  EXPECT_EQ(decode(out.sent[2].packet, scratch).weight, 3u);  // its own: no leak into the others
  EXPECT_EQ(decode(out.sent[0].packet, scratch).weight, 5u);
  cfg.auto_weight = true;
  out.sent.clear();
  s.round(false, 0, 0);
  EXPECT_EQ(decode(out.sent[0].packet, scratch).weight, 8u);  // processes * threads
  EXPECT_EQ(decode(out.sent[2].packet, scratch).weight, 3u);
}

class temp_dir {
 public:
  temp_dir() {
    char tmpl[] = "/tmp/brood-subscriber-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string path;
};

TEST(subscriber, KeyListFileIsReadAtEachRound) {
  temp_dir dir;
  const std::string file = dir.path + "/keys";
  std::ofstream(file) << "# keys\nfoo.it\nbar.it,5\n";
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe_to("127.0.0.1:1:@" + file + ",3"));
  recording_out out;
  subscriber s(cfg, two_sockets(), out);
  EXPECT_EQ(s.round(false, 0, 0), 2u);
  std::vector<wire::var> scratch;
  auto a = decode(out.sent[0].packet, scratch);
  EXPECT_EQ(a.key, "foo.it");
  EXPECT_EQ(a.modifier1, 3);
  auto b = decode(out.sent[1].packet, scratch);
  EXPECT_EQ(b.key, "bar.it");
  EXPECT_EQ(b.modifier1, 5);
  std::ofstream(file) << "baz.it\n";
  out.sent.clear();
  EXPECT_EQ(s.round(false, 0, 0), 1u);
  EXPECT_EQ(decode(out.sent[0].packet, scratch).key, "baz.it");
  std::filesystem::remove(file);
  EXPECT_EQ(s.round(false, 0, 0), 0u);  // logged, nothing sent
}

TEST(subscriber, CheckFileSuppressesTheTarget) {
  temp_dir dir;
  const std::string flag = dir.path + "/maintenance";
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe2("server=127.0.0.1:1,key=k,check=" + flag));
  recording_out out;
  subscriber s(cfg, two_sockets(), out);
  EXPECT_EQ(s.round(false, 0, 0), 1u);
  std::ofstream(flag) << "";
  EXPECT_EQ(s.round(false, 0, 0), 0u);
  std::filesystem::remove(flag);
  EXPECT_EQ(s.round(false, 0, 0), 1u);
}

TEST(subscriber, AFailedSendIsCountedOut) {
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe_to("127.0.0.1:1:k"));
  recording_out out;
  out.fail = "sendto: Connection refused";
  subscriber s(cfg, two_sockets(), out);
  EXPECT_EQ(s.round(false, 0, 0), 0u);
}

// An RSA key pair in `dir`: private.pem and public.pem.
void make_keys(const std::string& dir) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  ASSERT_NE(key, nullptr);
  std::FILE* f = std::fopen((dir + "/private.pem").c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen((dir + "/public.pem").c_str(), "w");
  PEM_write_PUBKEY(f, key);
  std::fclose(f);
  EVP_PKEY_free(key);
}

bool verify(const std::string& pubfile, const char* digest, wire::bytes_view data,
            std::string_view sig) {
  std::FILE* f = std::fopen(pubfile.c_str(), "r");
  EVP_PKEY* key = PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_get_digestbyname(digest), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       data.data(), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

TEST(subscriber, SignedDatagramCarriesUnixAndAVerifiableSignature) {
  temp_dir dir;
  make_keys(dir.path);
  subscription_config cfg;
  cfg.targets.push_back(
      parse_subscribe_to("127.0.0.1:1:signed.it,,sha256:" + dir.path + "/private.pem"));
  recording_out out;
  subscriber s(cfg, two_sockets(), out);
  s.round(false, 0, 1796591787);
  ASSERT_EQ(out.sent.size(), 1u);
  std::vector<wire::var> scratch;
  wire::subscription d;
  wire::bytes_view base;
  ASSERT_EQ(wire::decode_subscription(out.sent[0].packet, scratch, d, base).status,
            wire::decode_status::done);
  EXPECT_EQ(d.unix_time, 1796591787u);
  EXPECT_EQ(d.sign.size(), 256u);
  EXPECT_TRUE(verify(dir.path + "/public.pem", "sha256", base, d.sign));
  // The signature covers the body before the sign record: any change breaks it.
  wire::bytes tampered(base.begin(), base.end());
  tampered.back() ^= 1;
  EXPECT_FALSE(verify(dir.path + "/public.pem", "sha256", tampered, d.sign));
}

TEST(subscriber, ABadSignSpecIsRefusedAtStart) {
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe_to("127.0.0.1:1:k,,sha256:/nonexistent/key.pem"));
  recording_out out;
  try {
    subscriber s(cfg, two_sockets(), out);
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open /nonexistent/key.pem"), std::string::npos);
  }
  cfg.targets[0] = parse_subscribe_to("127.0.0.1:1:k,,nodigest:/k.pem");
  EXPECT_THROW(subscriber(cfg, two_sockets(), out), std::invalid_argument);
}

wire::bytes receive(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) return {};
  wire::bytes b(8192);
  const ssize_t n = ::recv(fd, b.data(), b.size(), 0);
  b.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return b;
}

TEST(subscriber, RealUdpDatagram) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  subscription_config cfg;
  cfg.targets.push_back(
      parse_subscribe_to("127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + ":foo.it"));
  os_datagram_out out;
  subscriber s(cfg, two_sockets(), out);
  EXPECT_EQ(s.round(false, 0, 0), 1u);
  EXPECT_EQ(hex(receive(fd)), uwsgi_foo);
  ::close(fd);
}

TEST(subscriber, RealUnixDatagram) {
  temp_dir dir;
  const std::string path = dir.path + "/router.sock";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  subscription_config cfg;
  cfg.targets.push_back(parse_subscribe_to(path + ":foo.it"));
  os_datagram_out out;
  subscriber s(cfg, two_sockets(), out);
  EXPECT_EQ(s.round(false, 0, 0), 1u);
  EXPECT_EQ(hex(receive(fd)), uwsgi_foo);
  ::close(fd);
  // The router gone: the send fails, nothing is thrown.
  ::unlink(path.c_str());
  EXPECT_EQ(s.round(false, 0, 0), 0u);
}

}  // namespace
}  // namespace brood::node
