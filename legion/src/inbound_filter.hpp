#pragma once
// The checks every frame a ZeroMQ member receives goes through before the election sees it
// (backend.hpp): size and MAC (decode_message), the legion's name, our own echoes, the clock skew
// and replays (a seq not above the last one seen from the same uuid). Pure: the time is given.
// Not thread-safe (the legion's thread owns it).
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "brood/legion/config.hpp"
#include "brood/legion/message.hpp"

namespace brood::legion {

class inbound_filter {
 public:
  inbound_filter(std::string legion, const key& k, std::string own_uuid,
                 milliseconds skew_tolerance, decode_limits limits = {});

  // The message when it passes every check; else nullopt and `why` says which one failed
  // ("bad mac", "replayed seq 7 (last 9)", "another legion 'x'", "our own message",
  // "clock skew 61234 ms", or the decoder's reason). `now_unix_ms`: our wall clock.
  std::optional<message> accept(std::span<const std::uint8_t> frame, std::int64_t now_unix_ms,
                                std::string& why);

 private:
  std::string legion_;
  key key_;
  std::string own_uuid_;
  milliseconds skew_;
  decode_limits limits_;
  std::unordered_map<std::string, std::uint64_t> last_seq_;  // per sender uuid
  std::deque<std::string> order_;                            // uuids, oldest first (bounded)
};

}  // namespace brood::legion
