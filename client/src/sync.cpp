// The sync client API: thin framing around run_sync_calls. A single call reuses the calling
// thread's request and reply buffers, so a call on a kept-alive connection allocates only for
// its result.
#include <span>

#include "brood/client/client.hpp"
#include "brood/wire/modifier.hpp"
#include "reply.hpp"
#include "sync_engine.hpp"

namespace brood::client {
namespace cd = detail;
namespace {

struct scratch {
  wire::bytes request;
  cd::reply_buffer reply;
};

scratch& thread_scratch() {
  thread_local scratch s;
  return s;
}

struct multi_scratch {
  static constexpr std::size_t kept_slots = 64;
  std::vector<wire::bytes> requests;
  std::vector<cd::reply_buffer> replies;
};

multi_scratch& thread_multi_scratch() {
  thread_local multi_scratch s;
  return s;
}

// Runs one exchange of the already framed `s.request`; the reply lands in `s.reply`.
// one_shot: a fresh connection closed after the reply (answers after which servers close).
std::optional<call_error> exchange(std::string_view address, scratch& s, milliseconds timeout,
                                   bool one_shot = false) {
  cd::sync_call c;
  c.address = address;
  c.one_shot = one_shot;
  c.request = s.request;
  c.reply = &s.reply;
  cd::run_sync_calls(std::span<cd::sync_call>(&c, 1), timeout);
  return std::move(c.error);
}

}  // namespace

packet_result send_packet(std::string_view address, std::uint8_t modifier1, std::uint8_t modifier2,
                          wire::bytes_view payload, milliseconds timeout) {
  scratch& s = thread_scratch();
  if (auto err = cd::build_packet_request(s.request, modifier1, modifier2, payload)) return *err;
  const bool closes = modifier1 == wire::to_byte(wire::modifier1::ping) ||
                      modifier1 == wire::to_byte(wire::modifier1::spooler);
  if (auto err = exchange(address, s, timeout, closes)) return std::move(*err);
  return cd::packet_from_reply(s.reply);
}

message_result send_message(std::string_view address, std::uint8_t modifier1,
                            std::uint8_t modifier2, const wire::value& message,
                            milliseconds timeout) {
  scratch& s = thread_scratch();
  if (auto err = cd::build_message_request(s.request, modifier1, modifier2, message)) return *err;
  if (auto err = exchange(address, s, timeout)) return std::move(*err);
  return cd::message_from_reply(address, modifier1, s.reply);
}

result<std::string> ping(std::string_view address, milliseconds timeout) {
  scratch& s = thread_scratch();
  auto err = cd::build_packet_request(s.request, wire::to_byte(wire::modifier1::ping),
                                      wire::to_byte(wire::ping_modifier2::request), {});
  if (err) return *err;
  if (auto e = exchange(address, s, timeout, true)) return std::move(*e);
  return cd::ping_from_reply(address, s.reply);
}

std::vector<message_result> send_multi_message(const std::vector<target>& targets,
                                               std::uint8_t modifier1, std::uint8_t modifier2,
                                               milliseconds timeout) {
  const std::size_t n = targets.size();
  // Up to kept_slots, request and reply buffers are the thread's, reused from call to call.
  multi_scratch local;
  multi_scratch& s = n <= multi_scratch::kept_slots ? thread_multi_scratch() : local;
  std::vector<wire::bytes>& requests = s.requests;
  std::vector<cd::reply_buffer>& replies = s.replies;
  if (requests.size() < n) requests.resize(n);
  if (replies.size() < n) replies.resize(n);
  std::vector<cd::sync_call> calls(n);
  for (std::size_t i = 0; i < n; ++i) {
    calls[i].address = targets[i].address;
    calls[i].reply = &replies[i];
    calls[i].error =
        cd::build_message_request(requests[i], modifier1, modifier2, targets[i].message);
    calls[i].request = requests[i];
  }
  cd::run_sync_calls(calls, timeout);

  std::vector<message_result> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (calls[i].error) {
      out.emplace_back(std::move(*calls[i].error));
    } else {
      out.push_back(cd::message_from_reply(targets[i].address, modifier1, replies[i]));
    }
  }
  return out;
}

}  // namespace brood::client
