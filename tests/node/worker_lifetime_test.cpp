// The worker's side of the lifetime options: when a worker recycles itself (max-requests,
// reload-on-rss/as, min-worker-lifetime), the request summary of harakiri's log line, and the
// summary's round trip through a scoreboard slot.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "brood/os/process_memory.hpp"
#include "brood/wire/vars.hpp"
#include "scoreboard.hpp"
#include "worker_lifetime.hpp"

namespace brood::node::detail {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
constexpr std::uint64_t mb = 1024 * 1024;

os::process_memory memory(std::uint64_t rss_mb, std::uint64_t vsz_mb) {
  return {rss_mb * mb, vsz_mb * mb};
}

TEST(worker_lifetime_test, MaxRequestsRecyclesAfterTheNthRequestOnce) {
  lifetime_config cfg;
  cfg.max_requests = 3;
  cfg.min_worker_lifetime = 0s;
  const auto t0 = clock::now();
  worker_lifetime l(cfg, t0);
  auto none = [] { return os::process_memory{}; };
  EXPECT_EQ(l.request_ended(t0, none), recycle_reason::none);
  EXPECT_EQ(l.request_ended(t0, none), recycle_reason::none);
  EXPECT_EQ(l.request_ended(t0, none), recycle_reason::max_requests);
  EXPECT_EQ(l.request_ended(t0, none), recycle_reason::none);  // decided already
  EXPECT_EQ(l.requests(), 4u);
}

TEST(worker_lifetime_test, MinWorkerLifetimeSparesAYoungWorker) {
  lifetime_config cfg;
  cfg.max_requests = 1;  // min_worker_lifetime: uWSGI's 10 s
  const auto t0 = clock::now();
  worker_lifetime l(cfg, t0);
  auto none = [] { return os::process_memory{}; };
  EXPECT_EQ(l.request_ended(t0 + 9s, none), recycle_reason::none);
  EXPECT_EQ(l.request_ended(t0 + 10s, none), recycle_reason::max_requests);
}

TEST(worker_lifetime_test, ReloadOnRssAndAsReadTheMemoryOnlyWhenAsked) {
  lifetime_config cfg;
  cfg.min_worker_lifetime = 0s;
  const auto t0 = clock::now();
  int reads = 0;
  {
    worker_lifetime off(cfg, t0);
    EXPECT_EQ(off.request_ended(t0, [&] { return ++reads, memory(1000, 1000); }),
              recycle_reason::none);
    EXPECT_EQ(reads, 0);
  }
  cfg.reload_on_rss = 100 * mb;
  cfg.reload_on_as = 500 * mb;
  worker_lifetime rss(cfg, t0);
  EXPECT_EQ(rss.request_ended(t0, [&] { return ++reads, memory(100, 400); }),
            recycle_reason::none);  // at the limit is not above it
  EXPECT_EQ(rss.request_ended(t0, [&] { return ++reads, memory(101, 400); }),
            recycle_reason::reload_on_rss);
  EXPECT_EQ(reads, 2);
  worker_lifetime as(cfg, t0);
  EXPECT_EQ(as.request_ended(t0, [&] { return memory(50, 501); }), recycle_reason::reload_on_as);
}

request make_request(std::uint8_t m1, std::uint8_t m2, const wire::bytes& payload) {
  request rq;
  rq.head.modifier1 = m1;
  rq.head.modifier2 = m2;
  rq.head.size = static_cast<std::uint16_t>(payload.size());
  rq.payload = wire::bytes_view(payload.data(), payload.size());
  rq.peer = "10.0.0.9:5555";
  return rq;
}

TEST(worker_lifetime_test, SummaryNamesMethodAndUriOrTheModifiers) {
  std::vector<wire::var> scratch;
  wire::bytes vars;
  ASSERT_FALSE(wire::append_vars(
      vars,
      {{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/upload?x=1"}, {"REMOTE_ADDR", "192.0.2.1"}}));
  EXPECT_EQ(summarize_request(make_request(0, 0, vars), {}, scratch),
            "192.0.2.1 - POST /upload?x=1");
  wire::bytes no_uri;
  ASSERT_FALSE(wire::append_vars(
      no_uri, {{"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/a"}, {"QUERY_STRING", "q=2"}}));
  EXPECT_EQ(summarize_request(make_request(0, 0, no_uri), {}, scratch),
            "10.0.0.9:5555 - GET /a?q=2");
  EXPECT_EQ(summarize_request(make_request(33, 98, {}), {}, scratch),
            "10.0.0.9:5555 - modifier1 33 modifier2 98");
}

TEST(worker_lifetime_test, SummaryRoundTripsThroughASlotTruncated) {
  scoreboard board(1);
  scoreboard::slot& s = board.at(1);
  EXPECT_EQ(load_summary(s), "");
  store_summary(s, "127.0.0.1 - GET /");
  EXPECT_EQ(load_summary(s), "127.0.0.1 - GET /");
  const std::string longer(200, 'x');
  store_summary(s, longer);
  EXPECT_EQ(load_summary(s), longer.substr(0, 95));
  store_summary(s, "short");  // a shorter one after a long one
  EXPECT_EQ(load_summary(s), "short");
  store_summary(s, std::string(8, 'y'));  // exactly one word: the zero is in the next
  EXPECT_EQ(load_summary(s), std::string(8, 'y'));
}

}  // namespace
}  // namespace brood::node::detail

namespace brood::node::detail {
namespace {

TEST(worker_lifetime_test, ARecyclingWorkerWritesItsReasonAndOneRecycleEvent) {
  scoreboard board(2, false, true);
  ASSERT_GE(board.recycle_fd(), 0);
  EXPECT_FALSE(board.take_recycle());
  board.claim(2);
  slot_recorder rec;
  rec.recycling(recycle_reason::max_requests);
  EXPECT_EQ(board.at(2).recycle.load(), recycle_reason::max_requests);
  EXPECT_TRUE(board.take_recycle());
  EXPECT_FALSE(board.take_recycle());
  // The master's record of the successor's fork clears the predecessor's reason.
  board.record_spawn(2, ::getpid() + 1, 0);
  EXPECT_EQ(board.at(2).recycle.load(), recycle_reason::none);
  scoreboard without(1);
  EXPECT_EQ(without.recycle_fd(), -1);
  EXPECT_FALSE(without.take_recycle());
}

}  // namespace
}  // namespace brood::node::detail
