// placement_mail: the placement's messages as etcd keys (etcd_placement.hpp).
#include "etcd_placement.hpp"

#include <algorithm>
#include <cstdio>
#include <span>

#include "brood/legion/placement_codec.hpp"

namespace brood::legion::etcd {
namespace {

std::string hex16(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// At most this many operations per transaction (etcd's default --max-txn-ops is 128).
constexpr std::size_t max_ops = 100;

}  // namespace

std::string placement_mail::prefix(const std::string& legion) {
  return "brood/legion/" + legion + "/placement/";
}

placement_mail::placement_mail(client& cl, const std::string& legion, const identity& self,
                               const key& k, std::chrono::milliseconds skew_tolerance)
    : prefix_(prefix(legion)),
      inbox_(prefix_ + "inbox/" + self.address + "/"),
      self_(self),
      key_(k),
      filter_(legion, k, self.uuid, skew_tolerance),
      kv_(cl, milliseconds(1000)),
      drops_(legion) {}

bool placement_mail::send(const std::vector<placement_outgoing>& out, std::int64_t lease,
                          const std::optional<key_value>& lordship, milliseconds timeout,
                          std::string& why) {
  const auto now = std::chrono::steady_clock::now();
  if (out.empty() && (read_keys_.empty() || now - deleted_ < std::chrono::seconds(1))) return true;
  if (lease == 0 && !out.empty()) {
    why = "no lease in etcd";
    return false;
  }
  kv_.set_timeout(timeout);
  std::vector<put_op> puts;
  std::vector<std::string> removes;
  const auto flush = [&]() -> bool {
    if (puts.empty() && removes.empty()) return true;
    bool applied = false;
    // Deletes alone need no guard: they only touch this member's inbox.
    const reply r = kv_.put_all(puts, puts.empty() ? std::nullopt : lordship, applied, removes);
    const std::size_t removed = removes.size();
    puts.clear();
    removes.clear();
    if (!r.ok) {
      why = r.error;
      return false;
    }
    if (!applied) {
      why = "etcd refused the lord's write: its candidacy is gone (deposed)";
      return false;
    }
    read_keys_.erase(read_keys_.begin(), read_keys_.begin() + static_cast<std::ptrdiff_t>(removed));
    deleted_ = now;
    return true;
  };
  for (std::size_t i = 0; i < read_keys_.size() && removes.size() < max_ops / 2; ++i)
    removes.push_back(read_keys_[i]);
  for (const placement_outgoing& o : out) {
    message m = stamp(placement_envelope(o.msg), self_, seq_);
    char lease_hex[24];
    std::snprintf(lease_hex, sizeof lease_hex, "%llx", static_cast<unsigned long long>(lease));
    const std::vector<std::uint8_t> frame = encode_message(m, key_);
    puts.push_back(
        {prefix_ + "inbox/" + o.to + "/" + self_.address + "/" + lease_hex + "-" + hex16(++name_),
         std::string(frame.begin(), frame.end()), lease});
    if (puts.size() + removes.size() >= max_ops && !flush()) return false;
  }
  return flush();
}

bool placement_mail::write_table(const std::string& json, std::uint64_t epoch,
                                 std::uint64_t version, const std::optional<key_value>& lordship,
                                 milliseconds timeout, std::string& why) {
  if (table_written_ && epoch == table_epoch_ && version == table_version_) return true;
  kv_.set_timeout(timeout);
  bool applied = false;
  const reply r = kv_.put_all({{prefix_ + "table", json, 0}}, lordship, applied);
  if (!r.ok) {
    why = r.error;
    return false;
  }
  if (!applied) {
    why = "etcd refused the lord's write: its candidacy is gone (deposed)";
    return false;
  }
  table_written_ = true;
  table_epoch_ = epoch;
  table_version_ = version;
  return true;
}

bool placement_mail::receive(std::vector<placement_message>& out, milliseconds timeout,
                             std::string& why) {
  kv_.set_timeout(timeout);
  std::vector<key_value> kvs;
  std::int64_t revision = 0;
  const reply r = kv_.range_since(inbox_, std::max<std::int64_t>(read_, 0), kvs, revision);
  if (!r.ok) {
    why = r.error;
    return false;
  }
  const bool first = read_ < 0;
  read_ = std::max(read_, revision);
  // A sender's transactions in revision order, the messages of one transaction by key (seq).
  std::sort(kvs.begin(), kvs.end(), [](const key_value& a, const key_value& b) {
    return a.mod_revision != b.mod_revision ? a.mod_revision < b.mod_revision : a.key < b.key;
  });
  std::vector<std::string> done;
  const auto now = std::chrono::steady_clock::now();
  for (const key_value& k : kvs) {
    done.push_back(k.key);
    if (first) continue;
    // inbox/SELF/FROM/NAME: FROM names the sender for the drop log.
    const std::string rest = k.key.substr(inbox_.size());
    const std::string sender = rest.substr(0, rest.rfind('/'));
    std::string reason;
    const std::span<const std::uint8_t> frame(reinterpret_cast<const std::uint8_t*>(k.value.data()),
                                              k.value.size());
    std::optional<message> m = filter_.accept(frame, unix_ms_now(), reason);
    if (!m) {
      drops_.drop(sender, reason, now);
      continue;
    }
    if (m->type != message_type::placement) {
      drops_.drop(sender, "not a placement message in the placement inbox", now);
      continue;
    }
    placement_message pm;
    if (decode_result d = decode_placement(m->payload, placement_limits{}, pm); !d.ok) {
      drops_.drop(sender, d.why, now);
      continue;
    }
    if (pm.from != m->from || pm.from != sender) {
      drops_.drop(sender, "placement from '" + pm.from + "' in a message of '" + m->from + "'",
                  now);
      continue;
    }
    out.push_back(std::move(pm));
  }
  // Deleted with the next transaction; bounded: what a stalled etcd never took is forgotten (its
  // sender's lease ends, or the revision filter skips it anyway).
  read_keys_.insert(read_keys_.end(), done.begin(), done.end());
  if (read_keys_.size() > 10 * max_ops)
    read_keys_.erase(read_keys_.begin(),
                     read_keys_.end() - static_cast<std::ptrdiff_t>(10 * max_ops));
  return true;
}

}  // namespace brood::legion::etcd
