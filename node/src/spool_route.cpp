// The node side of remote enqueue (modifier1 17, UWSGI_FACTS.md §3.4): decode the task's vars
// block, write it durably through the spool store, answer with uWSGI's bare 4-byte reply.
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "brood/node/log.hpp"
#include "brood/node/spool_client.hpp"
#include "brood/wire/modifier.hpp"
#include "brood/wire/vars.hpp"

namespace brood::node {
namespace {

// A spool request's vars are task data, not a web request: uWSGI spools them without a pair
// limit, bounded only by the u16 packet size (4 bytes per pair at the least).
wire::limits task_limits() {
  wire::limits lim;
  lim.buffer_size = wire::limits::max_buffer_size;
  lim.max_vars = wire::limits::max_buffer_size / 8 + 1;
  return lim;
}

// [255, 0, m2]: FF 00 00 01 (durable) or FF 00 00 00 (refused), nothing after it.
reply bare_reply(wire::response_modifier2 m2) {
  reply r;
  const auto head = wire::encode_header(
      wire::header{wire::to_byte(wire::modifier1::response), 0, wire::to_byte(m2)});
  r.data.assign(head.begin(), head.end());
  return r;
}

reply refuse(const request& rq, const std::string& why) {
  log("spooler: refused a task from ", rq.peer, ": ", why);
  return bare_reply(wire::response_modifier2::failure);
}

// Decodes the request's vars block into owned task vars. False (with `why`) when malformed.
bool task_vars(const request& rq, spool_vars& out, std::string& why) {
  thread_local std::vector<wire::var> views;
  const wire::decode_result res = wire::decode_vars(rq.payload, task_limits(), views);
  if (!res.is_done()) {
    why = "malformed vars block: " + res.why;
    return false;
  }
  out.clear();
  out.reserve(views.size());
  for (const wire::var& v : views) out.emplace_back(v.key, v.value);
  return true;
}

// The answer is always one of the two bare replies, whatever fails (never a framed error).
reply enqueue(const spool_store& store, const request& rq) {
  spool_vars vars;
  std::string why;
  if (!task_vars(rq, vars, why)) return refuse(rq, why);
  spool_status st;
  try {
    st = store.enqueue(vars, {});
  } catch (const std::exception& e) {
    return refuse(rq, std::string("the spool store failed: ") + e.what());
  }
  if (!st) return refuse(rq, st.message.empty() ? st.error.message() : st.message);
  return bare_reply(wire::response_modifier2::success);
}

}  // namespace

void serve_remote_spool(router& r, std::shared_ptr<const spool_store> store) {
  r.on_packet(wire::to_byte(wire::modifier1::spooler),
              [store = std::move(store)](const request& rq) -> std::optional<reply> {
                if (!store) return refuse(rq, "this node has no spooler");
                return enqueue(*store, rq);
              });
}

}  // namespace brood::node
