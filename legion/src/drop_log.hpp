#pragma once
// A rate-limited log of dropped messages: the first drop of each (sender, reason) is logged at
// once, the next ones at most once per `every`, with the count of those not logged in between.
// Not thread-safe (the legion's thread owns it).
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "brood/os/log.hpp"

namespace brood::legion {

class drop_log {
 public:
  using clock = std::chrono::steady_clock;
  explicit drop_log(std::string legion, clock::duration every = std::chrono::seconds(10))
      : legion_(std::move(legion)), every_(every) {}

  // One dropped message from `sender` (its TCP peer address, or "unknown") for `why`.
  void drop(const std::string& sender, const std::string& why, clock::time_point now) {
    ++dropped_;
    // The reason without its numbers, so that "replayed seq 7" and "replayed seq 8" share a slot.
    std::string kind = why.substr(0, why.find_first_of("0123456789'"));
    auto [it, fresh] = slots_.try_emplace(sender + "|" + kind);
    slot& s = it->second;
    if (!fresh && now - s.last < every_) {
      ++s.suppressed;
      return;
    }
    if (slots_.size() > 1024) slots_.clear();  // bounded: a flood of senders only resets it
    os::log("legion '", legion_, "': dropped a message from ", sender, ": ", why,
            s.suppressed ? " (and " + std::to_string(s.suppressed) + " more like it)" : "");
    s.last = now;
    s.suppressed = 0;
  }

  std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  struct slot {
    clock::time_point last{};
    std::uint64_t suppressed = 0;
  };
  std::string legion_;
  clock::duration every_;
  std::map<std::string, slot> slots_;
  std::uint64_t dropped_ = 0;
};

}  // namespace brood::legion
