#pragma once
// A worker's side of the lifetime options (brood/node/lifetime_config.hpp): after each request
// it decides whether this worker recycles itself (max-requests, reload-on-rss, reload-on-as, once
// it is older than min-worker-lifetime), and it summarizes each request for the master's
// harakiri log line. Private to the node module; used on the worker's thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "brood/node/lifetime_config.hpp"
#include "brood/node/router.hpp"
#include "brood/wire/limits.hpp"
#include "brood/wire/vars.hpp"
#include "scoreboard.hpp"

namespace brood::node::detail {

// "PEER - METHOD URI" for a request with vars (modifier1 0: REMOTE_ADDR, REQUEST_METHOD and
// REQUEST_URI, or PATH_INFO?QUERY_STRING), else "PEER - modifier1 M1 modifier2 M2". `scratch`
// is reused between calls.
std::string summarize_request(const request& rq, const wire::limits& lim,
                              std::vector<wire::var>& scratch);

class worker_lifetime {
 public:
  using clock = std::chrono::steady_clock;

  // `started`: when this worker process started serving.
  worker_lifetime(const lifetime_config& cfg, clock::time_point started) noexcept
      : cfg_(cfg), started_(started) {}

  // Harakiri is on: each request's summary is worth recording.
  bool describes() const noexcept { return cfg_.harakiri.count() > 0; }
  // One more request ended at `now`; `memory` reads this process's memory (rss, vsz in bytes;
  // called only with reload-on-rss/as). The reason to recycle now (none: keep serving); once
  // given, none is given again.
  // Thread-safe (a worker with threads ends requests on several threads).
  template <class ReadMemory>
  recycle_reason request_ended(clock::time_point now, ReadMemory&& memory) {
    const std::uint64_t n = requests_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (!cfg_.worker_checks() || decided_.load(std::memory_order_relaxed))
      return recycle_reason::none;
    if (now - started_ < cfg_.min_worker_lifetime) return recycle_reason::none;
    recycle_reason why = recycle_reason::none;
    if (cfg_.max_requests > 0 && n >= cfg_.max_requests) {
      why = recycle_reason::max_requests;
    } else if (cfg_.reload_on_rss > 0 || cfg_.reload_on_as > 0) {
      const auto [rss, vsz] = memory();
      if (cfg_.reload_on_rss > 0 && rss > cfg_.reload_on_rss)
        why = recycle_reason::reload_on_rss;
      else if (cfg_.reload_on_as > 0 && vsz > cfg_.reload_on_as)
        why = recycle_reason::reload_on_as;
    }
    if (why == recycle_reason::none || decided_.exchange(true)) return recycle_reason::none;
    return why;
  }
  std::uint64_t requests() const noexcept { return requests_.load(std::memory_order_relaxed); }

 private:
  const lifetime_config& cfg_;
  clock::time_point started_;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<bool> decided_{false};
};

}  // namespace brood::node::detail
