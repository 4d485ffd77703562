// prefix_watch (etcd_watch.hpp) against a real etcd: a put under the prefix rings at once, a
// delete does not, a put elsewhere does not; the watch goes down with etcd and comes back (and
// rings) when etcd does; a frozen etcd does not block the owner.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "etcd_kv.hpp"
#include "etcd_server.hpp"
#include "etcd_watch.hpp"
#include "eventually.hpp"

namespace brood::legion {
namespace {

using namespace std::chrono_literals;
using brood::testing::etcd_server;
using brood::testing::eventually;

class etcd_watch_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_server::available()) GTEST_SKIP() << "no " << etcd_server::binary;
    ASSERT_TRUE(etcd_.start()) << etcd_.output();
    const std::string ep = etcd_.endpoint();
    eps_ = {{"127.0.0.1", ep.substr(ep.rfind(':') + 1), ep}};
    cl_ = std::make_unique<etcd::client>(eps_);
    kv_ = std::make_unique<etcd::kv>(*cl_, 2000ms);
  }

  etcd_server etcd_;
  std::vector<etcd::url> eps_;
  std::unique_ptr<etcd::client> cl_;
  std::unique_ptr<etcd::kv> kv_;
};

TEST_F(etcd_watch_test, APutUnderThePrefixRingsAtOnceADeleteOrAnotherKeyDoesNot) {
  std::atomic<int> rings{0};
  etcd::prefix_watch w(eps_, "inbox/a/", "web", [&] { ++rings; });
  ASSERT_TRUE(eventually([&] { return w.live(); }, 5s));
  EXPECT_TRUE(w.take_rung());  // its creation rings: what was there before is read then
  const int created = rings.load();

  const auto put_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(kv_->put("inbox/a/m1/1", "x", 0).ok);
  ASSERT_TRUE(eventually([&] { return rings.load() > created; }, 2s));
  const auto rang_after = std::chrono::steady_clock::now() - put_at;
  EXPECT_LT(rang_after, 500ms) << "a ring should follow the put at once";
  EXPECT_TRUE(w.take_rung());
  EXPECT_FALSE(w.take_rung());

  const int before = rings.load();
  ASSERT_TRUE(kv_->remove("inbox/a/m1/1").ok);
  ASSERT_TRUE(kv_->put("inbox/b/m1/1", "x", 0).ok);  // another member's inbox
  ASSERT_TRUE(kv_->put("inbox/a/m2/1", "y", 0).ok);  // this one, after them
  ASSERT_TRUE(eventually([&] { return rings.load() > before; }, 2s));
  EXPECT_EQ(rings.load(), before + 1) << "the delete or the other prefix rang";
}

TEST_F(etcd_watch_test, GoesDownWithEtcdAndComesBackRinging) {
  etcd::prefix_watch w(eps_, "inbox/a/", "web", [] {});
  ASSERT_TRUE(eventually([&] { return w.live(); }, 5s));
  (void)w.take_rung();
  etcd_.stop();
  ASSERT_TRUE(eventually([&] { return !w.live(); }, 5s));
  ASSERT_TRUE(etcd_.start()) << etcd_.output();
  ASSERT_TRUE(eventually([&] { return w.live(); }, 10s));
  EXPECT_TRUE(w.take_rung());
}

TEST_F(etcd_watch_test, AFrozenEtcdDoesNotHoldTheOwner) {
  auto w = std::make_unique<etcd::prefix_watch>(eps_, "inbox/a/", "web", [] {});
  ASSERT_TRUE(eventually([&] { return w->live(); }, 5s));
  ASSERT_TRUE(etcd_.freeze());
  const auto t = std::chrono::steady_clock::now();
  w.reset();  // stops its thread at once, though etcd answers nothing
  EXPECT_LT(std::chrono::steady_clock::now() - t, 500ms);
  ASSERT_TRUE(etcd_.thaw());
}

}  // namespace
}  // namespace brood::legion
