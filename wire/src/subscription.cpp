// The subscription datagram (subscription.hpp).
#include "brood/wire/subscription.hpp"

#include <array>
#include <charconv>
#include <string>

#include "brood/wire/header.hpp"
#include "le16.hpp"

namespace brood::wire {
namespace {

decode_result bad(std::string why) {
  return decode_result::bad(errc::subscription_bad, std::move(why));
}

// Known keys; the index is the bit of `seen` in decode.
// "keepalive" (13) is a brood extension (docs/protocol.md §12.4).
constexpr std::array<std::string_view, 14> known_keys = {
    "key",     "address", "modifier1", "modifier2", "cores", "load", "weight",
    "sni_key", "sni_crt", "sni_ca",    "notify",    "unix",  "sign", "keepalive"};

int key_index(std::string_view k) noexcept {
  for (std::size_t i = 0; i < known_keys.size(); ++i)
    if (known_keys[i] == k) return static_cast<int>(i);
  return -1;
}

// A non-negative decimal of at most 20 digits.
bool parse_number(std::string_view text, std::uint64_t& out) noexcept {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

std::string shown(std::string_view v) {
  std::string s;
  for (char c : v.substr(0, 40)) s += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (v.size() > 40) s += "...";
  return s;
}

// Stores record `v` (known key `index`) in `out`; a bad value sets `why`.
bool store(int index, const var& v, subscription& out, std::string& why) {
  std::uint64_t n = 0;
  const bool numeric = index >= 2 && index <= 6;
  if ((numeric || index == 11 || index == 13) && !parse_number(v.value, n)) {
    why = "\"" + std::string(v.key) + "\" is not a decimal number: \"" + shown(v.value) + "\"";
    return false;
  }
  if ((index == 2 || index == 3) && n > 255) {
    why = "\"" + std::string(v.key) + "\" " + std::to_string(n) + " is over 255";
    return false;
  }
  switch (index) {
    case 0:
      out.key = v.value;
      break;
    case 1:
      out.address = v.value;
      break;
    case 2:
      out.modifier1 = static_cast<std::uint8_t>(n);
      break;
    case 3:
      out.modifier2 = static_cast<std::uint8_t>(n);
      break;
    case 4:
      out.cores = n;
      break;
    case 5:
      out.load = n;
      break;
    case 6:
      out.weight = n;
      break;
    case 7:
      out.sni_key = v.value;
      break;
    case 8:
      out.sni_crt = v.value;
      break;
    case 9:
      out.sni_ca = v.value;
      break;
    case 10:
      out.notify = v.value;
      break;
    case 11:
      out.unix_time = n;
      break;
    case 13:
      out.keepalive = n != 0;
      break;
    default:
      out.sign = v.value;
      break;
  }
  return true;
}

bool field_ok(std::string_view v) noexcept {
  return !v.empty() && v.size() <= max_subscription_field;
}

void put(std::vector<var>& vars, std::vector<std::string>& numbers, std::string_view key,
         std::uint64_t n) {
  numbers.push_back(std::to_string(n));
  vars.push_back({key, {}});
}

}  // namespace

std::error_code encode_subscription(const subscription& s, bytes& out) {
  if (!field_ok(s.key) || !field_ok(s.address)) return errc::field_too_long;
  std::vector<std::string> numbers;
  numbers.reserve(6);
  std::vector<var> vars{{"key", s.key}, {"address", s.address}};
  put(vars, numbers, "modifier1", s.modifier1);
  put(vars, numbers, "modifier2", s.modifier2);
  put(vars, numbers, "cores", s.cores);
  put(vars, numbers, "load", s.load);
  put(vars, numbers, "weight", s.weight);
  for (std::size_t i = 0; i < numbers.size(); ++i) vars[2 + i].value = numbers[i];
  if (!s.sni_key.empty()) vars.push_back({"sni_key", s.sni_key});
  if (!s.sni_crt.empty()) vars.push_back({"sni_crt", s.sni_crt});
  if (!s.sni_ca.empty()) vars.push_back({"sni_ca", s.sni_ca});
  if (!s.notify.empty()) vars.push_back({"notify", s.notify});
  if (s.keepalive) vars.push_back({"keepalive", "1"});
  std::string unix_text;
  if (s.unix_time) {
    unix_text = std::to_string(*s.unix_time);
    vars.push_back({"unix", unix_text});
  }
  bytes body;
  if (auto ec = append_vars(body, vars)) return ec;
  if (header_size + body.size() > max_subscription_datagram) return errc::payload_too_long;
  bytes packet;
  if (auto ec = append_packet(packet, static_cast<std::uint8_t>(modifier1::subscription),
                              s.unsubscribe ? 1 : 0, body))
    return ec;
  out = std::move(packet);
  return {};
}

bytes_view subscription_signed_base(bytes_view packet) noexcept {
  return packet.subspan(header_size);
}

std::error_code append_subscription_sign(bytes& packet, bytes_view signature) {
  const std::size_t record = 2 + 4 + 2 + signature.size();
  if (packet.size() < header_size) return errc::payload_too_long;
  if (packet.size() + record > max_subscription_datagram || signature.size() > detail::u16_max)
    return errc::payload_too_long;
  const std::vector<var> sign{{"sign", as_chars(signature)}};
  if (auto ec = append_vars(packet, sign)) return ec;
  const std::size_t size = packet.size() - header_size;
  packet[1] = static_cast<byte>(size & 0xff);
  packet[2] = static_cast<byte>(size >> 8);
  return {};
}

decode_result decode_subscription(bytes_view datagram, std::vector<var>& scratch, subscription& out,
                                  bytes_view& signed_base) {
  out = {};
  signed_base = {};
  if (datagram.size() < header_size)
    return bad(std::to_string(datagram.size()) + "-byte datagram is shorter than a header");
  const header h = decode_header(datagram);
  const bytes_view body = datagram.subspan(header_size);
  if (h.size != body.size())
    return bad("header size " + std::to_string(h.size) + " but " + std::to_string(body.size()) +
               " bytes follow it");
  limits lim;
  lim.max_vars = known_keys.size();
  const decode_result vars = decode_vars(body, lim, scratch);
  if (vars.is_bad()) return bad("vars block: " + vars.why);
  out.unsubscribe = h.modifier2 != 0;
  unsigned seen = 0;
  for (std::size_t i = 0; i < scratch.size(); ++i) {
    const var& v = scratch[i];
    const int index = key_index(v.key);
    if (index < 0) return bad("unknown key \"" + shown(v.key) + "\"");
    if (seen & (1u << index)) return bad("key \"" + std::string(v.key) + "\" repeated");
    seen |= 1u << index;
    std::string why;
    if (!store(index, v, out, why)) return bad(why);
    if (index == 12) {
      if (i + 1 != scratch.size()) return bad("\"sign\" is not the last record");
      const auto offset =
          static_cast<std::size_t>(reinterpret_cast<const byte*>(v.key.data()) - body.data() - 2);
      signed_base = body.first(offset);
    }
  }
  if (!(seen & 1u)) return bad("no \"key\"");
  if (!(seen & 2u)) return bad("no \"address\"");
  if (!field_ok(out.key)) return bad(std::to_string(out.key.size()) + "-byte key (1 to 255)");
  if (!field_ok(out.address))
    return bad(std::to_string(out.address.size()) + "-byte address (1 to 255)");
  if (!out.sign.empty() && !out.unix_time) return bad("\"sign\" without \"unix\"");
  return decode_result::done(datagram.size());
}

}  // namespace brood::wire
