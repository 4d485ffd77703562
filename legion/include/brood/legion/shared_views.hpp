#pragma once
// What a node's workers read of its legions (uwsgi.i_am_the_lord, lord_scroll, scrolls, the epoch):
// an anonymous shared mapping created by the master before it forks, written by the master's
// legion threads, read lock-free by any process forked after it (a seqlock per legion: a reader
// retries while a write is in progress). Move-only owner of the mapping.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "brood/legion/view.hpp"
#include "brood/os/status.hpp"

namespace brood::legion {

struct shared_view {
  bool i_am_the_lord = false;
  std::uint64_t epoch = 0;
  std::string lord_scroll;
  std::vector<std::string> scrolls;  // every alive member's scroll (self included)
};

class shared_views {
 public:
  // One slot per name, each holding up to scroll_max bytes of lord scroll and scroll_list_max
  // bytes of scrolls (longer ones are cut and logged once).
  static os::status create(const std::vector<std::string>& names, std::size_t scroll_max,
                           std::size_t scroll_list_max, shared_views& out);
  shared_views() = default;
  shared_views(shared_views&&) noexcept;
  shared_views& operator=(shared_views&&) noexcept;
  ~shared_views();

  // Writer side (the legion threads; one writer per name). `lord_until` (optional): when this
  // member's lease may end (steady_clock, i.e. CLOCK_MONOTONIC, the same in every process of the
  // host): from then on readers see i_am_the_lord false even if nothing was published since (a
  // stopped or stalled master), so a worker never acts as lord after the lease a new lord may
  // hold. The writer then publishes again at each renewal. time_point{} (default): no deadline.
  void publish(const std::string& name, const legion_view& v,
               std::chrono::steady_clock::time_point lord_until = {});
  // Reader side, any process: nullopt for an unknown name.
  std::optional<shared_view> read(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  void* base_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace brood::legion
