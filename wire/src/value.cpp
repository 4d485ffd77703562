#include "brood/wire/value.hpp"

#include <charconv>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace brood::wire {
namespace {

// True when the int64 `i` and the uint64 `u` are the same number.
bool same_number(std::int64_t i, std::uint64_t u) noexcept {
  return i >= 0 && static_cast<std::uint64_t>(i) == u;
}

void append_hex(std::string& s, const bytes& data) {
  static constexpr char digits[] = "0123456789abcdef";
  for (byte b : data) {
    s += digits[b >> 4];
    s += digits[b & 0xf];
  }
}

void append_quoted(std::string& s, const std::string& text) {
  s += '"';
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      s += '\\';
      s += c;
    } else if (c == '\n') {
      s += "\\n";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      s += buf;
    } else {
      s += c;
    }
  }
  s += '"';
}

template <class T>
void append_number(std::string& s, T n) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  s.append(buf, r.ptr);
}

void append_value(std::string& s, const value& v);

void append_container(std::string& s, const array& a) {
  s += '[';
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i) s += ", ";
    append_value(s, a[i]);
  }
  s += ']';
}

void append_container(std::string& s, const map& m) {
  s += '{';
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (i) s += ", ";
    append_value(s, m[i].first);
    s += ": ";
    append_value(s, m[i].second);
  }
  s += '}';
}

void append_value(std::string& s, const value& v) {
  std::visit(
      [&s](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, nil>) {
          s += "nil";
        } else if constexpr (std::is_same_v<T, bool>) {
          s += x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t> ||
                             std::is_same_v<T, double>) {
          append_number(s, x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          append_quoted(s, x);
        } else if constexpr (std::is_same_v<T, binary>) {
          s += "<bin ";
          append_hex(s, x.data);
          s += '>';
        } else if constexpr (std::is_same_v<T, extension>) {
          s += "<ext ";
          append_number(s, static_cast<int>(x.type));
          s += ' ';
          append_hex(s, x.data);
          s += '>';
        } else {
          append_container(s, x);
        }
      },
      v.variant());
}

}  // namespace

std::int64_t value::as_int64() const {
  if (const auto* i = std::get_if<std::int64_t>(&v_)) return *i;
  const std::uint64_t u = std::get<std::uint64_t>(v_);
  if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw std::out_of_range("brood::wire::value: " + std::to_string(u) + " does not fit an int64");
  }
  return static_cast<std::int64_t>(u);
}

bool operator==(const value& a, const value& b) {
  const auto* ai = std::get_if<std::int64_t>(&a.v_);
  const auto* bu = std::get_if<std::uint64_t>(&b.v_);
  if (ai && bu) return same_number(*ai, *bu);
  const auto* au = std::get_if<std::uint64_t>(&a.v_);
  const auto* bi = std::get_if<std::int64_t>(&b.v_);
  if (au && bi) return same_number(*bi, *au);
  return a.v_ == b.v_;
}

std::string to_string(const value& v) {
  std::string s;
  append_value(s, v);
  return s;
}

}  // namespace brood::wire
