// libFuzzer target: the legion frame decoder (docs/protocol.md §14). The input is tried both as a
// whole frame (almost always a bad mac) and as a body sealed with the key (reaching the field
// parser). A decoded message re-encodes to a frame that decodes to the same fields, and an
// election fed with it stays consistent.
#include <cstdlib>

#include "brood/legion/election.hpp"
#include "brood/legion/message.hpp"

namespace {

using namespace brood::legion;

bool same(const message& a, const message& b) {
  return a.type == b.type && a.legion == b.legion && a.from == b.from && a.uuid == b.uuid &&
         a.seq == b.seq && a.unix_ms == b.unix_ms && a.valor == b.valor &&
         a.hostname == b.hostname && a.pid == b.pid && a.scroll == b.scroll && a.epoch == b.epoch &&
         a.lord_uuid == b.lord_uuid && a.ref == b.ref && a.granted == b.granted &&
         a.hears == b.hears && a.payload == b.payload;
}

void check(const std::uint8_t* data, std::size_t size, const key& k, const decode_limits& lim) {
  message m;
  const decode_result r = decode_message({data, size}, k, lim, m);
  if (!r.ok) {
    if (r.why.empty()) std::abort();
    return;
  }
  message again;
  if (!decode_message(encode_message(m, k), k, lim, again).ok || !same(m, again)) std::abort();
  // An election accepts whatever an authenticated member may send.
  const clock::time_point t0(std::chrono::hours(1));
  election e(identity{"web", "a:1", "ua", 5, "h", 1, ""},
             election_params{{"a:1", m.from, "c:1"}, 2, timing{}, 0.05}, t0);
  e.receive(m, t0 + std::chrono::milliseconds(500));
  e.tick(t0 + std::chrono::milliseconds(600));
  if (e.next_deadline() <= t0 + std::chrono::milliseconds(600)) std::abort();
  (void)e.take_outgoing();
  (void)e.view(t0 + std::chrono::milliseconds(600));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const key k = derive_key("web", "aes-128-cbc:s3cr3t");
  decode_limits lim;
  lim.max_string = 256;
  check(data, size, k, lim);
  const std::vector<std::uint8_t> sealed = seal_frame({data, size}, k);
  check(sealed.data(), sealed.size(), k, lim);
  return 0;
}
