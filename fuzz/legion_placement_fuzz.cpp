// libFuzzer target: the placement payload (docs/protocol.md §14.5), as it arrives in an
// authenticated legion frame. A decoded message re-encodes to bytes that decode to the same
// fields, and a placement machine fed with it (as a lord and as a member) stays consistent.
#include <cstdlib>

#include "brood/legion/placement.hpp"
#include "brood/legion/placement_codec.hpp"

namespace {

using namespace brood::legion;

bool same(const placement_message& a, const placement_message& b) {
  return a.kind == b.kind && a.from == b.from && a.epoch == b.epoch && a.ref == b.ref &&
         a.version == b.version && a.capacity == b.capacity && a.running == b.running &&
         a.starting == b.starting && a.failed == b.failed && a.assigned == b.assigned &&
         a.table == b.table;
}

void feed(const placement_message& m, bool lord) {
  const placement_clock::time_point t0(std::chrono::hours(1));
  placement_params p;
  p.self = "a:1";
  p.members = {"a:1", m.from, "c:1"};
  placement pl(p, t0);
  pl.lord_changed(lord ? "a:1" : "c:1", lord, 3, t0);
  if (lord) pl.set_catalog({{"x.ini", 1}, {"y.ini", 2}}, t0);
  pl.receive(m, t0 + std::chrono::milliseconds(10));
  pl.tick(t0 + std::chrono::milliseconds(20));
  if (pl.next_deadline() <= t0 + std::chrono::milliseconds(20)) std::abort();
  (void)pl.take_outgoing();
  (void)pl.take_actions();
  (void)pl.fenced(t0 + std::chrono::milliseconds(20));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  placement_limits lim;
  lim.max_string = 256;
  lim.max_list = 256;
  placement_message m;
  const decode_result r = decode_placement({reinterpret_cast<const char*>(data), size}, lim, m);
  if (!r.ok) {
    if (r.why.empty()) std::abort();
    return 0;
  }
  placement_message again;
  if (!decode_placement(encode_placement(m), lim, again).ok || !same(m, again)) std::abort();
  feed(m, true);
  feed(m, false);
  return 0;
}
