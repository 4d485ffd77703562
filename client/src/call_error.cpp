#include "brood/client/call_error.hpp"

#include <cerrno>
#include <cstring>

#include "errors.hpp"

namespace brood::client {
namespace {

class call_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "brood.call"; }
  std::string message(int ev) const override {
    switch (static_cast<call_errc>(ev)) {
      case call_errc::timeout:
        return "no answer within the timeout";
      case call_errc::refused:
        return "connection refused or address unreachable";
      case call_errc::protocol:
        return "invalid reply";
      case call_errc::remote:
        return "the node answered a failure";
      case call_errc::io:
        return "the connection broke mid-call";
      case call_errc::bad_request:
        return "the call could not be encoded";
      case call_errc::interrupted:
        return "interrupted by a signal";
    }
    return "unknown call error";
  }
};

call_error make(call_errc code, std::string message) {
  return {make_error_code(code), std::move(message), {}};
}

}  // namespace

const std::error_category& call_category() noexcept {
  static const call_category_impl category;
  return category;
}

std::error_code make_error_code(call_errc e) noexcept {
  return {static_cast<int>(e), call_category()};
}

namespace detail {

call_error interrupted_error(std::string_view address) {
  return make(call_errc::interrupted,
              "interrupted by a signal while waiting for " + std::string(address));
}

call_error timeout_error(std::string_view address, milliseconds timeout) {
  return make(call_errc::timeout, "timeout after " + std::to_string(timeout.count()) +
                                      " ms waiting for " + std::string(address));
}

call_error connect_error(std::string_view address, int err) {
  std::string addr(address);
  switch (err) {
    case ECONNREFUSED:
      return make(call_errc::refused, "connection refused by " + addr);
    case ENOENT:
      return make(call_errc::refused, "connection refused by " + addr + " (no such socket file)");
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case ETIMEDOUT:
    case EACCES:
    case EPERM:
    case ENOTSOCK:
    case ENOTDIR:
      return make(call_errc::refused, "cannot reach " + addr + ": " + std::strerror(err));
    default:
      return make(call_errc::io, "cannot connect to " + addr + ": " + std::strerror(err));
  }
}

call_error unreachable_error(std::string_view address, std::string_view what) {
  return make(call_errc::refused,
              "cannot reach " + std::string(address) + ": " + std::string(what));
}

call_error closed_error(std::string_view address) {
  return make(call_errc::io, std::string(address) + " closed the connection before replying");
}

call_error cut_reply_error(std::string_view address) {
  return make(call_errc::io,
              std::string(address) + " closed the connection in the middle of a reply");
}

call_error io_error(std::string_view address, int err) {
  return make(call_errc::io,
              "connection to " + std::string(address) + " failed: " + std::strerror(err));
}

call_error protocol_error(std::string_view address, std::string_view why) {
  return make(call_errc::protocol,
              "bad reply from " + std::string(address) + ": " + std::string(why));
}

call_error remote_error(std::string_view address, std::string type, std::string_view message) {
  call_error e = make(call_errc::remote, "remote error from " + std::string(address) + ": " + type +
                                             ": " + std::string(message));
  e.remote_type = std::move(type);
  e.remote_message = std::string(message);
  return e;
}

call_error bad_request_error(std::string why) {
  return make(call_errc::bad_request, std::move(why));
}

call_error canceled_error(std::string_view address) {
  return {std::make_error_code(std::errc::operation_canceled),
          "call to " + std::string(address) + " canceled: the client was destroyed",
          {}};
}

}  // namespace detail
}  // namespace brood::client
