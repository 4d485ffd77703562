// The legion frame (docs/protocol.md §14): a msgpack map of named fields, then an HMAC-SHA256 of
// that body. The MAC is checked before a byte of the body is parsed.
#include "brood/legion/message.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits>

#include "brood/wire/msgpack_codec.hpp"

namespace brood::legion {
namespace {

constexpr std::size_t mac_size = 32;
constexpr std::size_t max_fields = 32;  // unknown fields are skipped, but not without end

using wire::value;

std::array<std::uint8_t, mac_size> mac_of(std::span<const std::uint8_t> body, const key& k) {
  std::array<std::uint8_t, mac_size> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()), body.data(), body.size(), out.data(),
       &len);
  return out;
}

wire::map to_map(const message& m) {
  wire::map f;
  auto put = [&f](const char* name, value v) { f.emplace_back(value(name), std::move(v)); };
  put("type", static_cast<unsigned>(m.type));
  put("legion", m.legion);
  put("from", m.from);
  put("uuid", m.uuid);
  put("seq", static_cast<unsigned long long>(m.seq));
  put("unix_ms", static_cast<long long>(m.unix_ms));
  put("valor", static_cast<long long>(m.valor));
  put("hostname", m.hostname);
  put("pid", static_cast<long long>(m.pid));
  put("scroll", m.scroll);
  put("epoch", static_cast<unsigned long long>(m.epoch));
  put("lord_uuid", m.lord_uuid);
  put("ref", static_cast<unsigned long long>(m.ref));
  put("granted", m.granted);
  put("hears", static_cast<unsigned>(m.hears));
  put("payload", m.payload);
  return f;
}

// One field being read: fills `why` on the first problem.
class reader {
 public:
  reader(const decode_limits& lim, std::string& why) : lim_(lim), why_(why) {}

  void string(const std::string& name, const value& v, std::string& out) {
    if (!v.is<std::string>()) return wrong(name);
    const std::size_t max = name == "payload" ? lim_.max_frame : lim_.max_string;
    const std::string& s = v.as<std::string>();
    if (s.size() > max) {
      fail("field '" + name + "' is too long (" + std::to_string(s.size()) + " bytes, at most " +
           std::to_string(max) + ")");
      return;
    }
    out = s;
  }
  void unsigned_int(const std::string& name, const value& v, std::uint64_t max,
                    std::uint64_t& out) {
    if (v.is<std::uint64_t>()) {
      out = v.as<std::uint64_t>();
    } else if (v.is<std::int64_t>() && v.as<std::int64_t>() >= 0) {
      out = static_cast<std::uint64_t>(v.as<std::int64_t>());
    } else {
      return wrong(name);
    }
    if (out > max) fail("field '" + name + "' is out of range (" + std::to_string(out) + ")");
  }
  void signed_int(const std::string& name, const value& v, std::int64_t& out) {
    if (v.is<std::int64_t>()) {
      out = v.as<std::int64_t>();
    } else if (v.is<std::uint64_t>() &&
               v.as<std::uint64_t>() <=
                   static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      out = static_cast<std::int64_t>(v.as<std::uint64_t>());
    } else if (v.is<std::uint64_t>()) {
      fail("field '" + name + "' is out of range (" + std::to_string(v.as<std::uint64_t>()) + ")");
    } else {
      wrong(name);
    }
  }
  void boolean(const std::string& name, const value& v, bool& out) {
    if (!v.is<bool>()) return wrong(name);
    out = v.as<bool>();
  }
  void fail(std::string why) {
    if (why_.empty()) why_ = std::move(why);
  }

 private:
  void wrong(const std::string& name) { fail("field '" + name + "' has the wrong type"); }
  const decode_limits& lim_;
  std::string& why_;
};

// Applies one known field; returns false for an unknown name (skipped).
bool apply_field(reader& r, const std::string& name, const value& v, message& m) {
  std::uint64_t u = 0;
  if (name == "type") {
    r.unsigned_int(name, v, 255, u);
    if (u < 1 || u > 10) {
      r.fail("field 'type' has an unknown value " + std::to_string(u));
    }
    m.type = static_cast<message_type>(u);
  } else if (name == "legion") {
    r.string(name, v, m.legion);
  } else if (name == "from") {
    r.string(name, v, m.from);
  } else if (name == "uuid") {
    r.string(name, v, m.uuid);
  } else if (name == "seq") {
    r.unsigned_int(name, v, std::numeric_limits<std::uint64_t>::max(), m.seq);
  } else if (name == "unix_ms") {
    r.signed_int(name, v, m.unix_ms);
  } else if (name == "valor") {
    r.signed_int(name, v, m.valor);
  } else if (name == "hostname") {
    r.string(name, v, m.hostname);
  } else if (name == "pid") {
    r.signed_int(name, v, m.pid);
  } else if (name == "scroll") {
    r.string(name, v, m.scroll);
  } else if (name == "epoch") {
    r.unsigned_int(name, v, std::numeric_limits<std::uint64_t>::max(), m.epoch);
  } else if (name == "lord_uuid") {
    r.string(name, v, m.lord_uuid);
  } else if (name == "ref") {
    r.unsigned_int(name, v, std::numeric_limits<std::uint64_t>::max(), m.ref);
  } else if (name == "granted") {
    r.boolean(name, v, m.granted);
  } else if (name == "hears") {
    r.unsigned_int(name, v, std::numeric_limits<std::uint32_t>::max(), u);
    m.hears = static_cast<std::uint32_t>(u);
  } else if (name == "payload") {
    r.string(name, v, m.payload);
  } else {
    return false;
  }
  return true;
}

std::string fields_of(const wire::map& fields, const decode_limits& lim, message& out) {
  std::string why;
  if (fields.size() > max_fields) {
    return "too many fields (" + std::to_string(fields.size()) + ", at most " +
           std::to_string(max_fields) + ")";
  }
  reader r(lim, why);
  std::vector<std::string> seen;
  for (const auto& [k, v] : fields) {
    if (!k.is<std::string>()) return "a field name is not a string";
    const std::string& name = k.as<std::string>();
    for (const std::string& s : seen) {
      if (s == name) return "field '" + name + "' appears twice";
    }
    seen.push_back(name);
    apply_field(r, name, v, out);
    if (!why.empty()) return why;
  }
  for (const char* required : {"type", "legion", "from", "uuid", "seq", "unix_ms"}) {
    bool found = false;
    for (const std::string& s : seen) found = found || s == required;
    if (!found) return std::string("field '") + required + "' is missing";
  }
  return {};
}

}  // namespace

key derive_key(const std::string& legion_name, const std::string& secret) {
  std::string input("brood-legion");
  input.push_back('\0');
  input += legion_name;
  input.push_back('\0');
  input += secret;
  key k{};
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), k.data(), &len, EVP_sha256(), nullptr);
  return k;
}

std::vector<std::uint8_t> seal_frame(std::span<const std::uint8_t> body, const key& k) {
  std::vector<std::uint8_t> frame(body.begin(), body.end());
  const auto mac = mac_of(body, k);
  frame.insert(frame.end(), mac.begin(), mac.end());
  return frame;
}

std::vector<std::uint8_t> encode_message(const message& m, const key& k) {
  return seal_frame(wire::encode_msgpack(value(to_map(m))), k);
}

decode_result decode_message(std::span<const std::uint8_t> frame, const key& k,
                             const decode_limits& lim, message& out) {
  auto bad = [](std::string why) { return decode_result{false, std::move(why)}; };
  if (frame.size() > lim.max_frame) {
    return bad("oversize frame (" + std::to_string(frame.size()) + " bytes, at most " +
               std::to_string(lim.max_frame) + ")");
  }
  if (frame.size() <= mac_size) {
    return bad("truncated frame (" + std::to_string(frame.size()) +
               " bytes, not even a body and its 32-byte mac)");
  }
  const auto body = frame.first(frame.size() - mac_size);
  const auto mac = mac_of(body, k);
  if (CRYPTO_memcmp(mac.data(), frame.data() + body.size(), mac_size) != 0) {
    return bad("bad mac (wrong secret, another legion's key, or altered bytes)");
  }
  wire::limits wl;
  wl.max_depth = 2;
  value v;
  const wire::decode_result r = wire::decode_msgpack(body, wl, v);
  if (!r.is_done()) return bad("malformed body: " + r.why);
  if (!v.is<wire::map>()) return bad("body is not a msgpack map");
  message m;
  std::string why = fields_of(v.as<wire::map>(), lim, m);
  if (!why.empty()) return bad(std::move(why));
  out = std::move(m);
  return {true, {}};
}

}  // namespace brood::legion
