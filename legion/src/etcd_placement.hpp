#pragma once
// The placement machine's messages (placement.hpp) carried through etcd keys, for the etcd
// backend (docs/architecture.md §6.4 "over etcd", docs/protocol.md §14.6). Keys, under
// "brood/legion/NAME/placement":
//   inbox/TO/FROM/LEASE_HEX-SEQ_HEX  one message from FROM to TO: the legion frame of type
//                                    `placement` (§14.5, MACed with the legion's key) as bytes,
//                                    put on the sender's lease (it vanishes with its sender)
//   table                            the lord's table (JSON, as emperor-stats shows it), written
//                                    at each new version
// Each member reads its own inbox (prefix inbox/SELF/) for keys modified after the revision of
// its last read (when its watch rings, etcd_watch.hpp; at every round while the watch is down;
// and once a second whatever the watch says), passes them through the inbound filter (MAC, replay,
// legion) and the placement decoder; it deletes them in its next sending transaction (one etcd
// write per turn, not two), or alone once a second passed without one. The lord's writes are one
// transaction guarded by its candidacy key (its create_revision is the epoch): once deposed (its
// lease gone in etcd, or another leader) its orders are refused by etcd, and a member never sees
// them. Thread: the legion thread only.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "brood/legion/placement.hpp"
#include "drop_log.hpp"
#include "etcd_kv.hpp"
#include "identity.hpp"
#include "inbound_filter.hpp"

namespace brood::legion::etcd {

class placement_mail {
 public:
  placement_mail(client& cl, const std::string& legion, const identity& self, const key& k,
                 std::chrono::milliseconds skew_tolerance);

  // The placement's prefix of legion `legion` ("brood/legion/NAME/placement/").
  static std::string prefix(const std::string& legion);
  // This member's inbox prefix (prefix + "inbox/SELF/"), which its watch rings on.
  const std::string& inbox() const { return inbox_; }

  // Sends `out` in one transaction on `lease` (0: this member holds no lease: nothing is sent,
  // as a message lost), with the deletes of the messages read since the last one. `lordship`: the
  // lord's candidacy key, the guard of its writes. False when etcd refused (deposed) or did not
  // answer (`why` says which).
  bool send(const std::vector<placement_outgoing>& out, std::int64_t lease,
            const std::optional<key_value>& lordship, milliseconds timeout, std::string& why);
  // The table as JSON at `prefix/table`, guarded like send(); only when `version`/`epoch` moved.
  bool write_table(const std::string& json, std::uint64_t epoch, std::uint64_t version,
                   const std::optional<key_value>& lordship, milliseconds timeout,
                   std::string& why);
  // The messages to this member written since the last call, in the order etcd stored them;
  // what does not pass the filter or the decoder is dropped with a (rate-limited) log line.
  // The first call only empties the inbox (what a former process of this address was sent).
  bool receive(std::vector<placement_message>& out, milliseconds timeout, std::string& why);

 private:
  std::string prefix_, inbox_;
  identity self_;
  key key_;
  inbound_filter filter_;
  kv kv_;
  drop_log drops_;
  std::uint64_t seq_ = 0;                            // the legion frames' seq
  std::uint64_t name_ = 0;                           // the message keys' counter
  std::int64_t read_ = -1;                           // revision of the last read (-1: none yet)
  std::vector<std::string> read_keys_;               // read, not yet deleted
  std::chrono::steady_clock::time_point deleted_{};  // the last transaction that deleted
  std::uint64_t table_epoch_ = 0, table_version_ = 0;
  bool table_written_ = false;
};

}  // namespace brood::legion::etcd
