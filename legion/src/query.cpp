// query_member: one DEALER, one `query`, the first valid `view` answer. A socket monitor tells
// "nothing listening" (never connected) from "connected but no answer" (a member drops a query
// it cannot authenticate or that names another legion, and logs why).
#include "brood/legion/query.hpp"

#include <chrono>

#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "brood/legion/config.hpp"
#include "brood/legion/message.hpp"
#include "identity.hpp"

namespace brood::legion {
namespace {

using clock = std::chrono::steady_clock;

}  // namespace

query_answer query_member(const query_request& r) {
  query_answer a;
  endpoint ep;
  if (std::string why = parse_endpoint(r.address, ep); !why.empty()) {
    a.error = "bad address '" + r.address + "': " + why;
    return a;
  }
  const std::string where = ep.text();
  const std::string ms = std::to_string(r.timeout.count()) + " ms";
  const key k = derive_key(r.legion, r.secret);
  message q;
  q.type = message_type::query;
  q.legion = r.legion;
  q.from = "brood-legion-query";
  const identity tool = make_identity(legion_config{.name = r.legion});
  q.uuid = tool.uuid;
  q.seq = 1;
  q.unix_ms = unix_ms_now();
  q.hostname = tool.hostname;
  q.pid = tool.pid;
  const std::vector<std::uint8_t> frame = encode_message(q, k);
  try {
    zmq::context_t ctx(1);
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::ipv6, 1);
    s.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(decode_limits{}.max_frame));
    const std::string monitor_at = "inproc://brood-legion-query-monitor";
    if (zmq_socket_monitor(s.handle(), monitor_at.c_str(), ZMQ_EVENT_CONNECTED) != 0)
      throw zmq::error_t();
    zmq::socket_t mon(ctx, zmq::socket_type::pair);
    mon.connect(monitor_at);
    s.connect("tcp://" + where);
    // A DEALER queues the message until the connection is up.
    s.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::none);
    bool connected = false;
    std::string last_refusal;
    const auto deadline = clock::now() + r.timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) break;
      zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}, {mon.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, left);
      if (items[1].revents & ZMQ_POLLIN) {
        std::vector<zmq::message_t> parts;
        (void)zmq::recv_multipart(mon, std::back_inserter(parts), zmq::recv_flags::dontwait);
        connected = true;
      }
      if ((items[0].revents & ZMQ_POLLIN) == 0) continue;
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(s, std::back_inserter(parts), zmq::recv_flags::dontwait) ||
          parts.empty())
        continue;
      connected = true;
      const zmq::message_t& last = parts.back();
      message m;
      const decode_result d = decode_message(
          std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(last.data()), last.size()),
          k, decode_limits{}, m);
      if (!d.ok) {
        last_refusal = d.why;
        continue;
      }
      if (m.type != message_type::view || m.legion != r.legion) continue;
      nlohmann::json j = nlohmann::json::parse(m.payload, nullptr, false);
      if (j.is_discarded() || !from_json(j, a.view)) {
        a.error = "the answer of " + where +
                  " holds no view (its JSON does not parse or misses "
                  "fields)";
        return a;
      }
      a.json = m.payload;
      a.ok = true;
      return a;
    }
    if (!last_refusal.empty())
      a.error = "the answer of " + where + " failed authentication: " + last_refusal;
    else if (!connected)
      a.error = "cannot connect to " + where + " within " + ms + " (nothing listening there?)";
    else
      a.error = "no answer from " + where + " within " + ms + ": it is no member of legion '" +
                r.legion + "', or its secret differs (the member logs each message it drops, " +
                "and why)";
  } catch (const zmq::error_t& e) {
    a.error = "cannot query " + where + ": " + e.what();
  }
  return a;
}

}  // namespace brood::legion
