// spool(): remote enqueue onto a brood or uWSGI spooler (modifier1 17, docs/protocol.md §10),
// over the sync client's engine, one connection per enqueue (the spooler closes after answering).
#include <span>
#include <string>
#include <vector>

#include "brood/client/spool.hpp"
#include "brood/wire/modifier.hpp"
#include "brood/wire/vars.hpp"
#include "errors.hpp"
#include "reply.hpp"
#include "sync_engine.hpp"

namespace brood::client {
namespace cd = detail;
namespace {

// Buffers reused by every spool() call of a thread.
struct spool_scratch {
  std::vector<wire::var> vars;
  wire::bytes block;
  wire::bytes request;
  cd::reply_buffer reply;
};

spool_scratch& thread_spool_scratch() {
  thread_local spool_scratch s;
  return s;
}

// Frames [17, size, 0] + the vars block (the task's vars, then "body" when not empty).
std::optional<call_error> build_request(spool_scratch& s, const wire::spool_vars& vars,
                                        std::string_view body) {
  s.vars.clear();
  for (const auto& [key, value] : vars) s.vars.push_back(wire::var{key, value});
  if (!body.empty()) s.vars.push_back(wire::var{wire::spool_key_body, body});
  s.block.clear();
  if (wire::append_vars(s.block, s.vars)) {
    return cd::bad_request_error("a task var has an empty key or a key or value over 65535 bytes");
  }
  if (s.block.size() > wire::limits::max_buffer_size) {
    return cd::bad_request_error("the task's vars block is " + std::to_string(s.block.size()) +
                                 " bytes, more than a packet holds (65535)");
  }
  return cd::build_packet_request(s.request, wire::to_byte(wire::modifier1::spooler), 0, s.block);
}

// FF 00 00 01: durable. FF 00 00 00: refused. Anything else is not a spooler's answer.
result<bool> spool_answer(std::string_view address, const cd::reply_buffer& r) {
  const wire::header h = r.head();
  if (h.modifier1 == wire::to_byte(wire::modifier1::response)) {
    if (h.modifier2 == wire::to_byte(wire::response_modifier2::success)) return true;
    if (h.modifier2 == wire::to_byte(wire::response_modifier2::failure))
      return cd::remote_error(address, "SpoolerRefused", "the spooler refused the task");
  }
  return cd::protocol_error(address, "unexpected reply [modifier1 " + std::to_string(h.modifier1) +
                                         ", size " + std::to_string(h.size) + ", modifier2 " +
                                         std::to_string(h.modifier2) + "] to a spool request");
}

}  // namespace

result<bool> spool(std::string_view address, const wire::spool_vars& vars, std::string_view body,
                   std::chrono::milliseconds timeout) {
  spool_scratch& s = thread_spool_scratch();
  if (auto err = build_request(s, vars, body)) return std::move(*err);
  cd::sync_call c;
  c.address = address;
  c.request = s.request;
  c.reply = &s.reply;
  c.one_shot = true;  // a new connection per enqueue, as uWSGI's clients (the server closes)
  cd::run_sync_calls(std::span<cd::sync_call>(&c, 1), timeout);
  if (c.error) return std::move(*c.error);
  return spool_answer(address, s.reply);
}

}  // namespace brood::client
