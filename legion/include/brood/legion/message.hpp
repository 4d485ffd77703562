#pragma once
// The legion's messages (docs/protocol.md "Legion"): one ZeroMQ frame each, a msgpack body
// followed by an HMAC-SHA256 of the body under a key derived from the legion's secret. Pure: no
// I/O. Untrusted bytes go through decode_message only (fuzz/legion_message_fuzz.cpp).
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace brood::legion {

enum class message_type : std::uint8_t {
  heartbeat = 1,      // every member, every heartbeat: who I am and what I see
  lease_request = 2,  // a candidate asks for a lease for `epoch`
  lease_grant = 3,    // a voter's answer to a request (`granted` false: refused, with `epoch` seen)
  renew = 4,          // the lord extends its lease for `epoch`
  renew_ack = 5,      // a voter's answer to a renew (`granted` false: the promise is gone)
  resign = 6,         // the lord of `epoch` stopped acting: voters may release their promise
  dead = 7,           // the sender is shutting down (uWSGI's "dead"): forget it now
  query = 8,          // `brood legion ADDR`: send me your view (answered with view)
  view = 9,           // the answer to query: `payload` holds the view as JSON
  placement = 10,     // the placement of vassals: `payload` holds a placement_message
                      // (placement_codec.hpp)
};

// Every field of every message; each type uses the ones its comment in election.hpp names.
struct message {
  message_type type = message_type::heartbeat;
  std::string legion;        // the legion's name; another legion's message is dropped
  std::string from;          // the sender's configured address, "host:port"
  std::string uuid;          // the sender's incarnation (36 chars, new at every start)
  std::uint64_t seq = 0;     // strictly increasing per uuid: a lower or equal one is a replay
  std::int64_t unix_ms = 0;  // the sender's wall clock at sending (skew tolerance)
  std::int64_t valor = 0;
  std::string hostname;
  std::int64_t pid = 0;
  std::string scroll;
  std::uint64_t epoch = 0;  // the epoch this message is about (or the highest the sender saw)
  std::string lord_uuid;    // whom the sender takes for lord (empty: none)
  std::uint64_t ref = 0;    // request/renew: its number (the election's counter, not `seq`);
                            // grant/ack: the `ref` of the request/renew it answers
  bool granted = false;     // lease_grant / renew_ack
  std::uint32_t hears = 0;  // heartbeat: how many members the sender hears (itself included)
  std::string payload;      // view: JSON text; placement: msgpack (placement_codec.hpp)
};

// The key of one legion: SHA-256 over "brood-legion\0" + name + "\0" + secret.
using key = std::array<std::uint8_t, 32>;
key derive_key(const std::string& legion_name, const std::string& secret);

struct decode_limits {
  std::size_t max_frame = 65536;  // a larger frame is refused before parsing
  std::size_t max_string = 4096;  // any string field (payload: max_frame)
};

struct decode_result {
  bool ok = false;
  std::string why;  // when !ok: "bad mac", "truncated", "field 'seq' has the wrong type", ...
};

std::vector<std::uint8_t> encode_message(const message& m, const key& k);
// A frame from raw body bytes: `body` followed by its MAC (what encode_message does after
// encoding; tests and the fuzz target use it to reach the body parser with arbitrary bytes).
std::vector<std::uint8_t> seal_frame(std::span<const std::uint8_t> body, const key& k);
// Checks the length, the MAC (in constant time) and every field's type before filling `out`.
decode_result decode_message(std::span<const std::uint8_t> frame, const key& k,
                             const decode_limits& lim, message& out);

}  // namespace brood::legion
