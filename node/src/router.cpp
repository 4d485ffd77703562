// The router: modifier1 -> handler, with the built-in ping (100) and marshalled messages (33).
#include "brood/node/router.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "brood/os/log.hpp"
#include "brood/wire/message.hpp"
#include "brood/wire/modifier.hpp"
#include "brood/wire/msgpack_codec.hpp"

namespace brood::node {
namespace {

using wire::modifier1;

// The readable name of a dynamic type ("std::out_of_range").
std::string demangled_name(const std::type_info& t) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(t.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(t.name());
}

// A framed failure reply [255, size, 0] + {"error": type, "message": text}; keeps the connection.
reply failure_reply(std::string_view type, std::string_view message) {
  reply r;
  wire::append_error_reply(r.data, type, message);
  return r;
}

// The uWSGI ping answer: m1 echoed, m2 = reply, the size of the (absent) warning text; then the
// connection closes, as uWSGI's does (a client reading to the end must not wait for keepalive).
std::optional<reply> answer_ping(const request& r) {
  reply out;
  out.keep_alive = false;
  out.data.reserve(wire::header_size);
  wire::append_packet(out.data, r.head.modifier1, wire::to_byte(wire::ping_modifier2::reply), {});
  return out;
}

// Runs `f`; an exception becomes a failure reply naming its type and message.
template <class F>
std::optional<reply> guarded(std::uint8_t m1, F&& f) {
  std::string type;
  std::string message;
  try {
    return f();
  } catch (const handler_error& e) {
    type = e.type();
    message = e.what();
  } catch (const std::exception& e) {
    type = demangled_name(typeid(e));
    message = e.what();
  } catch (...) {
    type = "unknown";
    message = "unknown exception";
  }
  os::log("handler of modifier1 ", static_cast<int>(m1), " failed: ", type, ": ", message);
  return failure_reply(type, message);
}

}  // namespace

router::router(wire::limits lim) : limits_(lim) {
  on_packet(wire::to_byte(modifier1::ping), answer_ping);
}

void router::on_packet(std::uint8_t modifier1, packet_handler h, body_policy body) {
  routes_[modifier1] = route{std::move(h), {}, body};
}

void router::on_deferred_packet(std::uint8_t modifier1, deferred_handler h) {
  routes_[modifier1] = route{{}, std::move(h), body_policy::none};
}

void router::on_message(message_handler h) { message_ = std::move(h); }

bool router::handles(std::uint8_t m1) const noexcept {
  return routes_[m1].handler || routes_[m1].deferred ||
         m1 == wire::to_byte(modifier1::message_marshal);
}

bool router::defers(std::uint8_t m1) const noexcept { return bool(routes_[m1].deferred); }

void router::dispatch_deferred(const request& r, const reply_callback& done) const {
  const std::uint8_t m1 = r.head.modifier1;
  bool started = false;
  std::optional<reply> failed = guarded(m1, [&]() -> std::optional<reply> {
    routes_[m1].deferred(r, done);
    started = true;
    return std::nullopt;
  });
  if (!started) done(std::move(failed));
}

body_policy router::body_for(std::uint8_t m1) const noexcept { return routes_[m1].body; }

std::optional<reply> router::dispatch(const request& r) const {
  const std::uint8_t m1 = r.head.modifier1;
  if (const route& rt = routes_[m1]; rt.handler) {
    return guarded(m1, [&] { return rt.handler(r); });
  }
  if (m1 != wire::to_byte(modifier1::message_marshal)) {
    os::log("-- unavailable modifier requested: ", static_cast<int>(m1), " --");
    return std::nullopt;
  }
  if (!message_) {
    return failure_reply("brood.NoHandler", "this node has no handler for modifier1 33 messages");
  }
  wire::value message;
  if (auto res = wire::decode_msgpack(r.payload, limits_, message); !res.is_done()) {
    return failure_reply("brood.ProtocolError", "invalid msgpack message: " + res.why);
  }
  return guarded(m1, [&]() -> std::optional<reply> {
    const wire::value answer = message_(message, r.head.modifier2);
    reply out;
    if (wire::append_value_packet(out.data, m1, r.head.modifier2, answer)) {
      const std::size_t size = wire::encode_msgpack(answer).size();
      return failure_reply("brood.ReplyTooLarge",
                           "the reply is " + std::to_string(size) +
                               " bytes of msgpack, more than a packet holds (65535)");
    }
    return out;
  });
}

}  // namespace brood::node
