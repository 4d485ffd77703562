#pragma once
// The one error model of brood::os (as LevelDB's Status): an operation that can fail returns a
// `status` (ok, or an error code with a message) or a `result<T>` (a T, or a failed status).
// An owner whose construction can fail is made by a static `open(...)` returning result<owner>;
// os constructors never throw and no os object carries an error() member.
//
// The message is complete: it says what failed, on what, and why, e.g.
//   "cannot bind 127.0.0.1:80: Permission denied"
//   "port 70000 out of range in \"127.0.0.1:70000\""
// so a caller logs it as is, or puts its own context in front with context(). The code is the
// errno (std::system_category) when a system call failed, else a std::errc value
// (std::generic_category), e.g. invalid_argument for text that does not parse. Callers test the
// code, never the text. Plain values: copyable, movable, not synchronised.
#include <cassert>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

namespace brood::os {

class [[nodiscard]] status {
 public:
  // ok.
  status() = default;
  // An error. REQUIRES: `code` is an error (non-zero).
  status(std::error_code code, std::string message) : code_(code), message_(std::move(message)) {
    assert(code_);
  }

  // The failure of a system call: code `err` (an errno value), message "WHAT: strerror(err)".
  static status from_errno(int err, std::string_view what);
  // Same with the current errno.
  static status last_errno(std::string_view what);

  bool ok() const noexcept { return !code_; }
  const std::error_code& code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }  // "" when ok

  // The same error with `what` in front: "WHAT: MESSAGE". ok stays ok.
  status context(std::string_view what) const;

 private:
  std::error_code code_;
  std::string message_;
};

// A T or a failed status. `explicit operator bool` and ok() are true when it holds a value.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  // REQUIRES: !error.ok().
  result(status error) : v_(std::in_place_index<1>, std::move(error)) {  // NOLINT
    assert(!std::get<1>(v_).ok());
  }

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // REQUIRES: ok() (throws std::bad_variant_access otherwise).
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The failure; an ok status when the result holds a value.
  const status& error() const noexcept {
    static const status none;
    return ok() ? none : std::get<1>(v_);
  }

 private:
  std::variant<T, status> v_;
};

}  // namespace brood::os
