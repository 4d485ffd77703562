#pragma once
// brood's dynamic value: what a marshalled message (modifier1 33) carries. Maps keep their order
// and may have keys of any type. Thread-safety: a value is a plain value type.
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "brood/wire/bytes.hpp"

namespace brood::wire {

class value;
using array = std::vector<value>;
using map = std::vector<std::pair<value, value>>;

struct nil {
  friend bool operator==(nil, nil) = default;
};
struct binary {  // msgpack bin: bytes, as opposed to str
  bytes data;
  friend bool operator==(const binary&, const binary&) = default;
};
struct extension {  // msgpack ext: a typed blob (brood uses ext types for big ints, tuples...)
  std::int8_t type = 0;
  bytes data;
  friend bool operator==(const extension&, const extension&) = default;
};

class value {
 public:
  using variant_type = std::variant<nil, bool, std::int64_t, std::uint64_t, double, std::string,
                                    binary, array, map, extension>;

  value() = default;
  value(nil) {}
  value(bool b) : v_(b) {}
  value(int i) : v_(std::int64_t{i}) {}
  value(long i) : v_(static_cast<std::int64_t>(i)) {}
  value(long long i) : v_(static_cast<std::int64_t>(i)) {}
  value(unsigned u) : v_(std::uint64_t{u}) {}
  value(unsigned long u) : v_(static_cast<std::uint64_t>(u)) {}
  value(unsigned long long u) : v_(static_cast<std::uint64_t>(u)) {}
  value(double d) : v_(d) {}
  value(const char* s) : v_(std::string(s)) {}
  value(std::string s) : v_(std::move(s)) {}
  value(binary b) : v_(std::move(b)) {}
  value(array a) : v_(std::move(a)) {}
  value(map m) : v_(std::move(m)) {}
  value(extension e) : v_(std::move(e)) {}

  template <class T>
  bool is() const noexcept {
    return std::holds_alternative<T>(v_);
  }
  template <class T>
  const T& as() const {
    return std::get<T>(v_);
  }
  template <class T>
  T& as() {
    return std::get<T>(v_);
  }
  bool is_nil() const noexcept { return is<nil>(); }
  // True for int64 or uint64; as_int64 throws std::out_of_range when it does not fit.
  bool is_integer() const noexcept { return is<std::int64_t>() || is<std::uint64_t>(); }
  std::int64_t as_int64() const;

  const variant_type& variant() const noexcept { return v_; }
  variant_type& variant() noexcept { return v_; }

  // Equal when the same alternative holds equal contents; a non-negative int64 equals the same
  // uint64 (msgpack does not keep that distinction).
  friend bool operator==(const value& a, const value& b);

 private:
  variant_type v_;
};

// A short human form for logs and the CLI ("[1, 2, {\"a\": nil}]").
std::string to_string(const value& v);

}  // namespace brood::wire
