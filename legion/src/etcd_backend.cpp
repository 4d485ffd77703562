// make_etcd_backend (backend.hpp): the legion thread's loop around etcd::member (etcd_member.hpp),
// one tick per heartbeat, woken at once by a stop request. Between ticks it serves the ZeroMQ
// ROUTER bound at the member's address: `query` (brood legion ADDR) is answered with the view, and
// the DEALERs to the configured members (legion-node) report a member's connection closing: when
// that member is the lord, its process is gone and its lease is revoked at once instead of
// waiting for etcd to expire it (docs/config.md "legion-etcd").
// With a placement attached (emperor = legion:NAME,DIR) it runs the placement machine as the
// ZeroMQ backend does: lord changes from the view, its deadlines in this loop, its messages
// through etcd keys (etcd_placement.hpp), the lord's writes guarded by its candidacy, its inbox
// read when its watch rings (etcd_watch.hpp), and every etcd call limited to end by its fence.
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
#include "etcd_placement.hpp"
#include "etcd_watch.hpp"
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
        client_(eps),
        eps_(std::move(eps)),
        member_(c, t, client_, self_),
        transport_(std::move(tr)),
        drops_(c.name),
        call_timeout_(std::clamp(t.heartbeat * 3, milliseconds(200), milliseconds(1000))) {
    for (const endpoint& e : c.members()) addresses_.push_back(e.text());
  }

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
    if (placement_) {
      mail_.emplace(client_, self_.legion, self_, key_, times_.skew_tolerance);
      watch_.emplace(eps_, mail_->inbox(), self_.legion, [fd = wake.get()] {
        const std::uint64_t one = 1;
        (void)::write(fd, &one, sizeof one);
      });
      placement_->start(
          self_.address, addresses_, times_.heartbeat,
          [fd = wake.get()] {
            const std::uint64_t one = 1;
            (void)::write(fd, &one, sizeof one);
          },
          clock::now());
    }
    auto next = clock::now();
    while (!stop.stop_requested()) {
      clock::time_point now = clock::now();
      if (placement_) fence_on_time(now);
      if (now >= next) {
        member_.tick(now);
        deliver(ev);
        next += times_.heartbeat;
        now = clock::now();
        if (next < now) next = now;
      }
      member_.check_lease(now);
      deliver(ev);
      auto until = std::min(next, member_.deadline());
      if (placement_ && !stop.stop_requested()) {
        run_placement(stop);
        until = std::min(until, placement_->next_deadline());
        now = clock::now();
      }
      in.clear();
      lost.clear();
      transport_->poll(std::clamp(std::chrono::ceil<milliseconds>(until - now), milliseconds(0),
                                  times_.heartbeat),
                       wake.get(), in, lost);
      for (const inbound_frame& f : in) answer(f, filter);
      for (const std::string& a : lost)
        if (member_.peer_closed(a)) next = clock::now();  // elect now
    }
    watch_.reset();  // its thread rings `wake`, closed when this returns
    if (placement_) placement_->stop();
    client_.limit_until(clock::time_point::max());
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

  // One round of the placement: the lord as the view has it, the inbox, the machine's deadlines,
  // its messages out and, on the lord, the table key.
  void run_placement(const std::stop_token& stop) {
    sync_lord(clock::now());
    fence_on_time(clock::now());
    std::string why;
    std::vector<placement_message> in;
    // Taken before the read: a ring during it is kept for the next round. A watch is trusted
    // again only once it rang after a failed call: through a cut its connection may look open
    // while it delivers nothing until TCP retransmits, seconds after the heal.
    const bool rung = watch_->take_rung();
    if (rung) trust_watch_ = true;
    if (!rung && watch_->live() && trust_watch_ &&
        clock::now() - last_read_ < std::chrono::seconds(1)) {
      // Nothing written since the last read.
    } else if (mail_->receive(in, member_.budget(call_timeout_), why)) {
      last_read_ = clock::now();
      for (const placement_message& m : in) {
        const clock::time_point now = clock::now();
        sync_lord(now);
        placement_->receive(m, now);
      }
    } else {
      trust_watch_ = false;  // read again next round: the ring taken may be this one's
      complain("cannot read the placement inbox: " + why, stop);
    }
    const clock::time_point now = clock::now();
    const legion_view v = sync_lord(now);
    placement_->step(now);
    client_.limit_until(placement_->fence_at());
    const std::optional<etcd::key_value> lordship = member_.lordship();
    if (!mail_->send(placement_->take_outgoing(), member_.lease(), lordship,
                     member_.budget(call_timeout_), why)) {
      trust_watch_ = false;
      complain("placement messages not sent: " + why, stop);
    }
    if (lordship) {
      const placement_view pv = placement_->view();
      if (pv.table.epoch == v.epoch &&
          !mail_->write_table(to_json(pv).dump(), pv.table.epoch, pv.table.version, lordship,
                              member_.budget(call_timeout_), why))
        complain("the placement table not written: " + why, stop);
    }
  }

  // The placement fenced if its lease is over, and every etcd call (the election's too) limited
  // to end by its next fence: a member cut from etcd kills its vassals when its lease ends, not
  // when the calls waiting on etcd time out (the benchmark saw fences up to 1070 ms late, each
  // call of a round waiting up to call_timeout_).
  void fence_on_time(clock::time_point now) {
    if (now >= placement_->fence_at()) placement_->step(now);
    client_.limit_until(placement_->fence_at());
  }

  // The lordship brought to `now` (check_lease steps down a heartbeat before the lease ends)
  // and given to the placement when it changed: a lord whose lease ended while this thread waited
  // on etcd acks no report after it, not even its own (those bypass etcd and its guard), so no
  // ack of a term outlives it.
  legion_view sync_lord(clock::time_point now) {
    member_.check_lease(now);
    const legion_view v = member_.snapshot();
    const std::string lord = v.i_am_the_lord ? self_.address : v.lord_address;
    std::string lk = lord + "|" + (v.i_am_the_lord ? "L" : "-") + "|" + std::to_string(v.epoch);
    if (lk != placement_lord_) {
      placement_lord_ = std::move(lk);
      placement_->lord_changed(lord, v.i_am_the_lord, v.epoch, now);
    }
    return v;
  }

  // A placement failure's log line, at most one per 10 s.
  void complain(const std::string& what, const std::stop_token& stop) {
    if (stop.stop_requested()) return;  // the calls in flight were interrupted
    const auto now = clock::now();
    if (now - last_complaint_ < std::chrono::seconds(10)) return;
    last_complaint_ = now;
    os::log("legion '", self_.legion, "': ", what);
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
    nlohmann::json j = to_json(v);
    if (placement_) j["placement"] = to_json(placement_->view());
    a.payload = j.dump();
    transport_->reply(f, encode_message(stamp(std::move(a), self_, seq_), key_));
  }

  identity self_;
  timing times_;
  key key_;
  etcd::client client_;
  std::vector<etcd::url> eps_;  // the watch's endpoints
  etcd::member member_;
  std::unique_ptr<zmq_transport> transport_;
  drop_log drops_;
  std::uint64_t seq_ = 0;
  // A placement call's limit, as the election's (etcd_member.cpp); a lord's ends before its
  // step-down (etcd::member::budget).
  milliseconds call_timeout_;
  std::vector<std::string> addresses_;  // the configured members, self included
  std::optional<etcd::placement_mail> mail_;
  // Rings when a message is written to this member's inbox: it is read at once, not at the next
  // round; while the watch is down the inbox is read at every round, and once a second anyway.
  std::optional<etcd::prefix_watch> watch_;
  clock::time_point last_read_{};
  bool trust_watch_ = false;    // it rang since the last failed call
  std::string placement_lord_;  // the lord change last given to the placement
  clock::time_point last_complaint_{};
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
