#pragma once
// Error model of client calls: every slot of a call holds either its answer or a call_error.
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace brood::client {

enum class call_errc {
  timeout = 1,  // no complete answer within the call's timeout
  refused,      // connection refused, or the address cannot be reached / resolved
  protocol,     // the peer answered something that is not a valid reply
  remote,       // the peer answered a failure (its handler raised); see remote_type/message
  io,           // the connection broke mid-call
  bad_request,  // the call could not be encoded (payload over 65535 bytes, bad address)
  interrupted,  // a signal interrupted the wait and the interrupt check said stop (client.hpp)
};

const std::error_category& call_category() noexcept;
std::error_code make_error_code(call_errc e) noexcept;

struct call_error {
  std::error_code code;
  std::string message;         // what happened, with the address ("timeout after 200 ms to ...")
  std::string remote_type;     // call_errc::remote: the remote exception's type
  std::string remote_message;  // call_errc::remote: the remote exception's bare message
};

// Thrown by result::value() on an error slot.
class call_exception : public std::system_error {
 public:
  explicit call_exception(call_error e)
      : std::system_error(e.code, e.message), error_(std::move(e)) {}
  const call_error& error() const noexcept { return error_; }

 private:
  call_error error_;
};

// An answer or a call_error (an expected-like type; C++20 has no std::expected).
template <class T>
class result {
 public:
  result(T v) : v_(std::in_place_index<0>, std::move(v)) {}
  result(call_error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // REQUIRES: has_value(), else throws call_exception.
  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !has_value().
  const call_error& error() const { return std::get<1>(v_); }

 private:
  void check() const {
    if (!has_value()) throw call_exception(std::get<1>(v_));
  }
  std::variant<T, call_error> v_;
};

}  // namespace brood::client

template <>
struct std::is_error_code_enum<brood::client::call_errc> : std::true_type {};
