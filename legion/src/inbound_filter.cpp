#include "inbound_filter.hpp"

#include <utility>

namespace brood::legion {
namespace {

// Members restart with a new uuid each time; `brood legion` queries bring one each. The oldest
// uuids are forgotten past this many (their messages are long past the skew tolerance anyway
// when a member is restarted this often, and a forgotten one only loses its replay memory).
constexpr std::size_t max_senders = 4096;

}  // namespace

inbound_filter::inbound_filter(std::string legion, const key& k, std::string own_uuid,
                               milliseconds skew_tolerance, decode_limits limits)
    : legion_(std::move(legion)),
      key_(k),
      own_uuid_(std::move(own_uuid)),
      skew_(skew_tolerance),
      limits_(limits) {}

std::optional<message> inbound_filter::accept(std::span<const std::uint8_t> frame,
                                              std::int64_t now_unix_ms, std::string& why) {
  message m;
  if (decode_result r = decode_message(frame, key_, limits_, m); !r.ok) {
    why = r.why;
    return std::nullopt;
  }
  if (m.legion != legion_) {
    why = "another legion '" + m.legion + "'";
    return std::nullopt;
  }
  if (m.uuid == own_uuid_) {
    why = "our own message";
    return std::nullopt;
  }
  const std::int64_t skew = m.unix_ms - now_unix_ms;
  if (skew > skew_.count() || -skew > skew_.count()) {
    why = "clock skew " + std::to_string(skew) + " ms";
    return std::nullopt;
  }
  auto it = last_seq_.find(m.uuid);
  if (it != last_seq_.end()) {
    if (m.seq <= it->second) {
      why = "replayed seq " + std::to_string(m.seq) + " (last " + std::to_string(it->second) + ")";
      return std::nullopt;
    }
    it->second = m.seq;
    return m;
  }
  if (order_.size() >= max_senders) {
    last_seq_.erase(order_.front());
    order_.pop_front();
  }
  last_seq_.emplace(m.uuid, m.seq);
  order_.push_back(m.uuid);
  return m;
}

}  // namespace brood::legion
