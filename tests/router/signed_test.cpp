// Signed subscriptions on the router: subscriptions-sign-check with a public key per key.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <ctime>

#include "fake_node.hpp"
#include "router_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

class signed_test : public router_fixture {
 protected:
  void SetUp() override {
    key_ = EVP_RSA_gen(2048);
    ASSERT_TRUE(key_);
    FILE* f = std::fopen((dir_.path() + "/k.test.pem").c_str(), "w");
    ASSERT_TRUE(f);
    PEM_write_PUBKEY(f, key_);
    std::fclose(f);
    router::router_config cfg;
    cfg.sign_check_digest = "sha256";
    cfg.sign_check_dir = dir_.path();
    cfg.sign_tolerance = std::chrono::seconds(30);
    start(cfg);
  }
  void TearDown() override {
    router_fixture::TearDown();
    EVP_PKEY_free(key_);
  }
  // The datagram for `s` with "unix" = `unix_time`, signed (or with `bad` a corrupted signature).
  wire::bytes signed_datagram(const sub_spec& s, std::uint64_t unix_time, bool bad = false) {
    wire::subscription w;
    w.key = s.key;
    w.address = s.address;
    w.unsubscribe = s.unsubscribe;
    w.unix_time = unix_time;
    wire::bytes d;
    EXPECT_FALSE(wire::encode_subscription(w, d));
    const wire::bytes_view base = wire::subscription_signed_base(d);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_);
    EVP_DigestSign(ctx, nullptr, &len, base.data(), base.size());
    wire::bytes sig(len);
    EVP_DigestSign(ctx, sig.data(), &len, base.data(), base.size());
    EVP_MD_CTX_free(ctx);
    if (bad) sig[10] ^= 0xff;
    EXPECT_FALSE(wire::append_subscription_sign(d, sig));
    return d;
  }
  bool known(const std::string& key, const std::string& addr) {
    return on_io([&] {
      router::node_ref n = server_->subscriptions().find(key, addr);
      return n && !n->death_mark;
    });
  }
  std::uint64_t now() const { return static_cast<std::uint64_t>(std::time(nullptr)); }

  temp_dir dir_{"router-sign"};
  EVP_PKEY* key_ = nullptr;
};

TEST_F(signed_test, ASignedSubscriptionIsAcceptedAndRouted) {
  fake_node a("A");
  send_datagram(signed_datagram({"k.test", a.address()}, now()));
  ASSERT_TRUE(eventually([&] { return known("k.test", a.address()); }));
  EXPECT_EQ(who(get("k.test")), "A");
}

TEST_F(signed_test, UnsignedBadlySignedStaleAndKeylessAreDropped) {
  fake_node a("A"), b("B");
  send_datagram(encode({"k.test", a.address()}));                         // unsigned
  send_datagram(signed_datagram({"k.test", a.address()}, now(), true));   // bad signature
  send_datagram(signed_datagram({"k.test", a.address()}, now() - 3600));  // stale
  send_datagram(signed_datagram({"nokey.test", a.address()}, now()));     // no public key
  send_datagram(signed_datagram({"k.test", b.address()}, now()));         // good, sent last
  ASSERT_TRUE(eventually([&] { return known("k.test", b.address()); }));
  EXPECT_FALSE(known("k.test", a.address()));
  EXPECT_FALSE(known("nokey.test", a.address()));
}

TEST_F(signed_test, AReplayedDatagramIsDropped) {
  fake_node a("A");
  const std::uint64_t t = now();
  send_datagram(signed_datagram({"k.test", a.address()}, t));
  ASSERT_TRUE(eventually([&] { return known("k.test", a.address()); }));
  // A captured unsubscribe with an old unix time is dropped; one with a newer time is taken.
  send_datagram(signed_datagram({"k.test", a.address(), 1, 0, 0, true}, t));
  const wire::bytes fresh = signed_datagram({"k.test", a.address(), 1, 0, 0, true}, t + 1);
  send_datagram(fresh);
  ASSERT_TRUE(eventually([&] { return !known("k.test", a.address()); }));
  // Replaying the subscription of time t does not bring the node back.
  send_datagram(signed_datagram({"k.test", a.address()}, t));
  fake_node b("B");
  send_datagram(signed_datagram({"k.test", b.address()}, t + 2));
  ASSERT_TRUE(eventually([&] { return known("k.test", b.address()); }));
  EXPECT_FALSE(known("k.test", a.address()));
}

}  // namespace
}  // namespace brood::testing
