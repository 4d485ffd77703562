#include "json_value.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace brood::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view base64_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view hex_chars = "0123456789abcdef";

std::string to_base64(const wire::bytes& in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t n = std::uint32_t{in[i]} << 16;
    if (i + 1 < in.size()) n |= std::uint32_t{in[i + 1]} << 8;
    if (i + 2 < in.size()) n |= in[i + 2];
    out += base64_chars[(n >> 18) & 63];
    out += base64_chars[(n >> 12) & 63];
    out += i + 1 < in.size() ? base64_chars[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? base64_chars[n & 63] : '=';
  }
  return out;
}

wire::bytes from_base64(std::string_view s) {
  if (s.size() % 4 != 0) throw std::invalid_argument("$binary: base64 length not a multiple of 4");
  std::size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  wire::bytes out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i + pad < s.size(); ++i) {
    auto pos = base64_chars.find(s[i]);
    if (pos == std::string_view::npos)
      throw std::invalid_argument("$binary: bad base64 character at offset " + std::to_string(i));
    acc = (acc << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<wire::byte>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string to_hex(const wire::bytes& in) {
  std::string out;
  for (auto b : in) {
    out += hex_chars[b >> 4];
    out += hex_chars[b & 15];
  }
  return out;
}

wire::bytes from_hex(std::string_view s) {
  if (s.size() % 2 != 0) throw std::invalid_argument("$ext data: odd number of hex digits");
  auto digit = [&](std::size_t i) {
    char c = static_cast<char>(s[i] | 0x20);
    auto pos = hex_chars.find(c);
    if (pos == std::string_view::npos)
      throw std::invalid_argument("$ext data: bad hex digit at offset " + std::to_string(i));
    return static_cast<wire::byte>(pos);
  };
  wire::bytes out;
  for (std::size_t i = 0; i < s.size(); i += 2)
    out.push_back(static_cast<wire::byte>(digit(i) << 4 | digit(i + 1)));
  return out;
}

json to_json(const wire::value& v);

json map_to_json(const wire::map& m) {
  bool string_keys = true;
  for (const auto& [k, val] : m) string_keys = string_keys && k.is<std::string>();
  if (string_keys) {
    json obj = json::object();
    for (const auto& [k, val] : m) obj[k.as<std::string>()] = to_json(val);
    return obj;
  }
  json pairs = json::array();
  for (const auto& [k, val] : m) pairs.push_back(json::array({to_json(k), to_json(val)}));
  return json{{"$map", std::move(pairs)}};
}

json to_json(const wire::value& v) {
  struct visitor {
    json operator()(wire::nil) const { return nullptr; }
    json operator()(bool b) const { return b; }
    json operator()(std::int64_t i) const { return i; }
    json operator()(std::uint64_t u) const { return u; }
    json operator()(double d) const { return d; }
    json operator()(const std::string& s) const { return s; }
    json operator()(const wire::binary& b) const { return json{{"$binary", to_base64(b.data)}}; }
    json operator()(const wire::array& a) const {
      json out = json::array();
      for (const auto& x : a) out.push_back(to_json(x));
      return out;
    }
    json operator()(const wire::map& m) const { return map_to_json(m); }
    json operator()(const wire::extension& e) const {
      return json{{"$ext", e.type}, {"data", to_hex(e.data)}};
    }
  };
  return std::visit(visitor{}, v.variant());
}

wire::value from_json(const json& j);

// The special one-key or two-key objects; nullopt for an ordinary object.
std::optional<wire::value> special_object(const json& j) {
  if (j.size() == 1 && j.contains("$binary") && j["$binary"].is_string())
    return wire::binary{from_base64(j["$binary"].get<std::string>())};
  if (j.size() == 1 && j.contains("$map") && j["$map"].is_array()) {
    wire::map m;
    for (const auto& pair : j["$map"]) {
      if (!pair.is_array() || pair.size() != 2)
        throw std::invalid_argument("$map: every element must be a [key, value] pair");
      m.emplace_back(from_json(pair[0]), from_json(pair[1]));
    }
    return m;
  }
  if (j.size() == 2 && j.contains("$ext") && j.contains("data")) {
    const json& t = j["$ext"];
    if (!t.is_number_integer() || t.get<std::int64_t>() < -128 || t.get<std::int64_t>() > 127)
      throw std::invalid_argument("$ext: type must be an integer in -128..127");
    if (!j["data"].is_string()) throw std::invalid_argument("$ext: data must be a hex string");
    return wire::extension{static_cast<std::int8_t>(t.get<std::int64_t>()),
                           from_hex(j["data"].get<std::string>())};
  }
  return std::nullopt;
}

wire::value from_json(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return wire::nil{};
    case json::value_t::boolean:
      return j.get<bool>();
    case json::value_t::number_integer:
      return j.get<std::int64_t>();
    case json::value_t::number_unsigned: {
      auto u = j.get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return static_cast<std::int64_t>(u);
      return u;
    }
    case json::value_t::number_float:
      return j.get<double>();
    case json::value_t::string:
      return j.get<std::string>();
    case json::value_t::array: {
      wire::array a;
      for (const auto& x : j) a.push_back(from_json(x));
      return a;
    }
    case json::value_t::object: {
      if (auto special = special_object(j)) return *special;
      wire::map m;
      for (const auto& [k, x] : j.items()) m.emplace_back(k, from_json(x));
      return m;
    }
    default:
      throw std::invalid_argument("unsupported JSON value");
  }
}

}  // namespace

std::string value_to_json(const wire::value& v) {
  return to_json(v).dump(-1, ' ', false, json::error_handler_t::replace);
}

json_result value_from_json(std::string_view text) {
  try {
    return {from_json(json::parse(text)), {}};
  } catch (const json::parse_error& e) {
    return {std::nullopt, std::string("bad JSON: ") + e.what()};
  } catch (const std::exception& e) {
    return {std::nullopt, std::string("bad JSON value: ") + e.what()};
  }
}

}  // namespace brood::cli
