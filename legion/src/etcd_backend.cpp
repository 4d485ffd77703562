// make_etcd_backend (backend.hpp): the legion thread's loop around etcd::member (etcd_member.hpp),
// one tick per heartbeat, woken at once by a stop request. Between ticks it serves the ZeroMQ
// ROUTER bound at the member's address: `query` (brood legion ADDR) is answered with the view, and
// the DEALERs to the configured members (legion-node) report a member's connection closing: when
// that member is the lord, its process is gone and its lease is revoked at once instead of
// waiting for etcd to expire it (docs/config.md "legion-etcd").
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "brood/legion/backend.hpp"
#include "brood/os/log.hpp"
#include "brood/os/unique_fd.hpp"
#include "drop_log.hpp"
#include "etcd_client.hpp"
#include "etcd_member.hpp"
#include "identity.hpp"
#include "inbound_filter.hpp"
#include "zmq_transport.hpp"

namespace brood::legion {
namespace {

class etcd_backend final : public backend {
 public:
  etcd_backend(const legion_config& c, const timing& t, std::vector<etcd::url> eps,
               std::unique_ptr<zmq_transport> tr)
      : self_(make_identity(c)),
        times_(t),
        key_(derive_key(c.name, c.secret)),
        client_(std::move(eps)),
        member_(c, t, client_, self_),
        transport_(std::move(tr)),
        drops_(c.name) {}

  os::status run(std::stop_token stop, const backend_events& ev) override {
    os::unique_fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake) return os::status::last_errno("legion '" + self_.legion + "': eventfd");
    std::stop_callback poke(stop, [this, fd = wake.get()] {
      client_.interrupt();
      const std::uint64_t one = 1;
      (void)::write(fd, &one, sizeof one);
    });
    member_.set_sink([&ev](const election_event& e) {
      if (ev.on_event) ev.on_event(e);
    });
    inbound_filter filter(self_.legion, key_, self_.uuid, times_.skew_tolerance);
    std::vector<inbound_frame> in;
    std::vector<std::string> lost;
    auto next = clock::now();
    while (!stop.stop_requested()) {
      clock::time_point now = clock::now();
      if (now >= next) {
        member_.tick(now);
        deliver(ev);
        next += times_.heartbeat;
        now = clock::now();
        if (next < now) next = now;
      }
      member_.check_lease(now);
      deliver(ev);
      const auto until = std::min(next, member_.deadline());
      in.clear();
      lost.clear();
      transport_->poll(std::clamp(std::chrono::ceil<milliseconds>(until - now), milliseconds(0),
                                  times_.heartbeat),
                       wake.get(), in, lost);
      for (const inbound_frame& f : in) answer(f, filter);
      for (const std::string& a : lost)
        if (member_.peer_closed(a)) next = clock::now();  // elect now
    }
    client_.resume();
    member_.shutdown(std::chrono::milliseconds(500));
    deliver(ev);
    member_.set_sink({});
    return {};
  }

  legion_view view() const override { return member_.snapshot(); }

 private:
  void deliver(const backend_events& ev) {
    if (member_.take_changed() && ev.on_view) ev.on_view(member_.snapshot());
  }

  // Only `query` is answered; everything else a member may send is not for the etcd backend.
  void answer(const inbound_frame& f, inbound_filter& filter) {
    std::string why;
    std::optional<message> m = filter.accept(f.body, unix_ms_now(), why);
    if (!m) {
      drops_.drop(f.peer, why, clock::now());
      return;
    }
    if (m->type != message_type::query) return;
    message a;
    a.type = message_type::view;
    a.ref = m->seq;
    const legion_view v = member_.snapshot();
    a.epoch = v.epoch;
    a.lord_uuid = v.lord_uuid;
    a.payload = to_json(v).dump();
    transport_->reply(f, encode_message(stamp(std::move(a), self_, seq_), key_));
  }

  identity self_;
  timing times_;
  key key_;
  etcd::client client_;
  etcd::member member_;
  std::unique_ptr<zmq_transport> transport_;
  drop_log drops_;
  std::uint64_t seq_ = 0;
};

}  // namespace

std::unique_ptr<backend> make_etcd_backend(const legion_config& c, const timing& t,
                                           std::string& error) {
  std::vector<etcd::url> eps;
  // Errors name what failed; members::start puts "legion 'NAME': " in front.
  if (error = etcd::parse_endpoints(c.etcd_endpoints, eps); !error.empty()) return nullptr;
  {
    etcd::client probe(eps);
    etcd::kv kv(probe, std::chrono::milliseconds(2000));
    // The client tries every endpoint in turn within the call.
    if (const etcd::reply r = kv.status(); !r.ok) {
      error = "legion-etcd: no endpoint of '" + c.etcd_endpoints +
              "' answers /v3/maintenance/status (" + r.error + ")";
      return nullptr;
    }
  }
  std::unique_ptr<zmq_transport> tr = zmq_transport::open(c.address, c.members(), error);
  if (!tr) return nullptr;
  return std::make_unique<etcd_backend>(c, t, std::move(eps), std::move(tr));
}

}  // namespace brood::legion
