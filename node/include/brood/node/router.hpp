#pragma once
// Maps modifier1 to the code that answers it. Built in: ping (100) and marshalled messages (33,
// answered by the registered message_handler). Thread-safety: fill it before serving; dispatch is
// const and may be called from any worker.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "brood/wire/bytes.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/limits.hpp"
#include "brood/wire/value.hpp"

namespace boost::asio {
class io_context;
}

namespace brood::node {

struct request {
  wire::header head;
  wire::bytes_view payload;  // the head.size bytes after the header
  wire::bytes_view body;     // request body (body_policy::content_length), else empty
  std::string_view peer;     // "127.0.0.1:5555", or the unix socket path
  // The event loop the request arrived on (the handler runs on its thread), or null.
  boost::asio::io_context* io = nullptr;
  // The connection's socket when nothing was read past this request (else -1), for a deferred
  // handler that hands the connection over to another process (which then answers the client
  // and closes it): the handler then completes with an empty reply, keep_alive false (the
  // request counts as answered, nothing is written, and the worker closes its copy).
  int fd = -1;
};

struct reply {
  wire::bytes data;        // bytes to write as they are (framed packet, or raw HTTP)
  bool keep_alive = true;  // false: close the connection once written
};

// How the connection finds the request body that follows the payload.
enum class body_policy {
  none,            // no body: the next bytes are the next request (keep-alive)
  content_length,  // payload is a vars block; CONTENT_LENGTH bytes of body follow
};

// Answers one request. nullopt: close the connection without answering. A thrown exception
// becomes a failure reply (modifier1 255, modifier2 0) carrying its type and message.
using packet_handler = std::function<std::optional<reply>(const request&)>;

// Completes a deferred request with its reply (nullopt: close without answering). May be called
// from any thread, exactly once.
using reply_callback = std::function<void(std::optional<reply>)>;
// A handler that answers later, e.g. once a disk write on another thread is done. It must copy
// what it needs from the request before it returns (the request's views die then). The
// connection reads nothing more until `done` is called, and a graceful stop waits for it.
using deferred_handler = std::function<void(const request&, reply_callback done)>;

// Answers a marshalled message: the decoded msgpack value and modifier2 in, the answer out.
// Throw handler_error (or any std::exception) to make the caller's call fail as a remote error.
using message_handler = std::function<wire::value(const wire::value& message, std::uint8_t m2)>;

class handler_error : public std::runtime_error {
 public:
  handler_error(std::string type, const std::string& message)
      : std::runtime_error(message), type_(std::move(type)) {}
  const std::string& type() const noexcept { return type_; }

 private:
  std::string type_;
};

class router {
 public:
  explicit router(wire::limits lim = {});

  // Replaces the handler of `modifier1`.
  void on_packet(std::uint8_t modifier1, packet_handler h, body_policy body = body_policy::none);
  // Replaces the handler of `modifier1` with one that answers later (body_policy::none).
  void on_deferred_packet(std::uint8_t modifier1, deferred_handler h);
  // The handler of marshalled messages (modifier1 33).
  void on_message(message_handler h);

  bool handles(std::uint8_t modifier1) const noexcept;
  body_policy body_for(std::uint8_t modifier1) const noexcept;
  bool defers(std::uint8_t modifier1) const noexcept;

  // Answers one complete request. An unknown modifier1 logs "unavailable modifier requested: N"
  // and gives nullopt (close). Handler exceptions become failure replies.
  std::optional<reply> dispatch(const request& r) const;
  // Starts a deferred request. REQUIRES: defers(r.head.modifier1). A handler that throws
  // completes `done` at once with the failure reply.
  void dispatch_deferred(const request& r, const reply_callback& done) const;

  const wire::limits& limits() const noexcept { return limits_; }

 private:
  struct route {
    packet_handler handler;
    deferred_handler deferred;
    body_policy body = body_policy::none;
  };
  wire::limits limits_;
  std::array<route, 256> routes_;
  message_handler message_;
};

}  // namespace brood::node
