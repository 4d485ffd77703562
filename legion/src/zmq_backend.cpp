// make_zmq_backend: the election (election.hpp) driven over zmq_transport on the legion's thread.
// Every frame received passes inbound_filter (drops logged by drop_log); `query` is answered with
// the view; the election's messages leave in the envelope of this member (seq, clock, identity).
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "brood/legion/backend.hpp"
#include "brood/legion/placement_codec.hpp"
#include "brood/os/log.hpp"
#include "brood/os/unique_fd.hpp"
#include "drop_log.hpp"
#include "identity.hpp"
#include "inbound_filter.hpp"
#include "zmq_transport.hpp"

namespace brood::legion {
namespace {

constexpr std::chrono::milliseconds farewell_linger{200};  // resign/dead get this long to leave

// What on_view reports a change of (last_seen moves every heartbeat and is left out).
std::string view_key(const legion_view& v) {
  // A lord's renewed lease moves lord_until: published so that workers see the new deadline.
  std::string k =
      v.lord_uuid + "|" + std::to_string(v.epoch) + "|" +
      (v.i_am_the_lord ? "L" + std::to_string(v.lord_until.time_since_epoch().count()) : "-") +
      "|" + v.lord_scroll;
  for (const member_view& m : v.members)
    k += "|" + m.address + "," + m.uuid + "," + (m.alive ? "1" : "0") + "," + m.scroll;
  return k;
}

class zmq_backend final : public backend {
 public:
  zmq_backend(const legion_config& c, const timing& t, std::unique_ptr<zmq_transport> tr)
      : self_(make_identity(c)),
        params_(make_params(c, t)),
        key_(derive_key(c.name, c.secret)),
        transport_(std::move(tr)),
        drops_(c.name) {
    view_.legion = c.name;
    view_.address = self_.address;
    view_.uuid = self_.uuid;
    view_.valor = self_.valor;
    view_.scroll = self_.scroll;
    view_.backend = "zeromq";
    view_.quorum = params_.quorum;
    for (const std::string& a : params_.members)
      if (a != self_.address) view_.members.push_back(member_view{.address = a});
  }

  os::status run(std::stop_token stop, const backend_events& ev) override {
    os::unique_fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake) return os::status::last_errno("legion '" + self_.legion + "': eventfd");
    std::stop_callback poke(stop, [fd = wake.get()] {
      const std::uint64_t one = 1;
      (void)::write(fd, &one, sizeof one);
    });
    inbound_filter filter(self_.legion, key_, self_.uuid, params_.times.skew_tolerance);
    election_params ep = params_;
    ep.keep_lord = placement_ != nullptr;  // a lord change costs placement a quiet period
    election el(self_, ep, clock::now());
    if (placement_)
      placement_->start(
          self_.address, params_.members, params_.times.heartbeat,
          [fd = wake.get()] {
            const std::uint64_t one = 1;
            (void)::write(fd, &one, sizeof one);
          },
          clock::now());
    std::vector<inbound_frame> in;
    std::vector<std::pair<const inbound_frame*, message>> accepted;
    std::vector<std::string> lost;
    while (!stop.stop_requested()) {
      clock::time_point now = clock::now();
      el.tick(now);
      flush(el, ev, now);
      clock::time_point due = el.next_deadline();
      if (placement_) {
        placement_->step(now);
        send_placement();
        due = std::min(due, placement_->next_deadline());
      }
      const auto wait = std::clamp(std::chrono::ceil<milliseconds>(due - now), milliseconds(0),
                                   params_.times.heartbeat);
      in.clear();
      lost.clear();
      transport_->poll(wait, wake.get(), in, lost);
      now = clock::now();
      // The election first, and its answers (renew acks, grants) out at once: a batch of
      // placement messages (each with the table) never delays them behind its decoding and the
      // lord's work; placement messages after, each stamped with its own moment.
      accepted.clear();
      for (const inbound_frame& f : in) accept(f, filter, accepted, now);
      for (auto& [f, m] : accepted)
        if (m.type != message_type::placement) handle(*f, m, el, now);
      for (const std::string& a : lost) el.connection_lost(a, now);
      el.tick(now);
      flush(el, ev, now);
      for (auto& [f, m] : accepted)
        if (m.type == message_type::placement && placement_) on_placement(*f, m, el, ev);
    }
    if (placement_) placement_->stop();
    const clock::time_point now = clock::now();
    el.shutdown(now);
    flush(el, ev, now);
    transport_->linger_on_close(farewell_linger);
    return {};
  }

  legion_view view() const override {
    std::lock_guard lock(m_);
    return view_;
  }

 private:
  void accept(const inbound_frame& f, inbound_filter& filter,
              std::vector<std::pair<const inbound_frame*, message>>& out, clock::time_point now) {
    std::string why;
    std::optional<message> m = filter.accept(f.body, unix_ms_now(), why);
    if (!m) {
      drops_.drop(f.peer, why, now);
      return;
    }
    out.emplace_back(&f, std::move(*m));
  }

  // Every accepted message but placement ones.
  void handle(const inbound_frame& f, const message& msg, election& el, clock::time_point now) {
    const message* m = &msg;
    if (m->type == message_type::query) {
      message answer;
      answer.type = message_type::view;
      answer.ref = m->seq;
      nlohmann::json j = to_json(view());
      if (placement_) j["placement"] = to_json(placement_->view());
      answer.payload = j.dump();
      transport_->reply(f, encode_message(stamp(std::move(answer)), key_));
      return;
    }
    if (m->type == message_type::view) return;  // only `brood legion` asks for views
    el.receive(*m, now);
  }

  // Each placement message at its own moment, and the election brought to that moment first: a
  // lord whose lease ended meanwhile (this thread was descheduled) steps down before it could
  // ack a report, so no ack of a term outlives it (the next lord counts the members' leases from
  // its own start, after this term's end).
  void on_placement(const inbound_frame& f, const message& m, election& el,
                    const backend_events& ev) {
    const clock::time_point now = clock::now();
    el.tick(now);
    flush(el, ev, now);
    placement_message pm;
    if (decode_result r = decode_placement(m.payload, placement_limits{}, pm); !r.ok) {
      drops_.drop(f.peer, r.why, now);
      return;
    }
    if (pm.from != m.from) {
      drops_.drop(f.peer, "placement from '" + pm.from + "' in a message of '" + m.from + "'", now);
      return;
    }
    placement_->receive(pm, now);
    send_placement();
  }

  void send_placement() {
    for (placement_outgoing& o : placement_->take_outgoing())
      transport_->send(o.to, encode_message(stamp(placement_envelope(o.msg)), key_));
  }

  // The envelope of every message this member sends.
  message stamp(message m) { return legion::stamp(std::move(m), self_, seq_); }

  // Reports the election's events, then sends what it asks (an unlord's hooks run before its
  // resign releases the voters), then its view when it changed.
  void flush(election& el, const backend_events& ev, clock::time_point now) {
    for (const election_event& e : el.take_events())
      if (ev.on_event) ev.on_event(e);
    for (outgoing& o : el.take_outgoing())
      transport_->send(o.to, encode_message(stamp(std::move(o.msg)), key_));
    legion_view v = el.view(now);
    v.backend = "zeromq";
    v.scroll = self_.scroll;
    if (const std::optional<clock::time_point> since = el.lord_since(); since != lord_since_) {
      lord_since_ = since;  // the wall clock of the moment, taken once per term
      lord_since_unix_ms_ =
          since ? unix_ms_now() - std::chrono::duration_cast<milliseconds>(now - *since).count()
                : 0;
    }
    v.lord_since_unix_ms = lord_since_unix_ms_;
    if (placement_) {
      const std::string lord = v.i_am_the_lord ? self_.address : v.lord_address;
      std::string lk = lord + "|" + (v.i_am_the_lord ? "L" : "-") + "|" + std::to_string(v.epoch);
      if (lk != placement_lord_) {
        placement_lord_ = std::move(lk);
        placement_->lord_changed(lord, v.i_am_the_lord, v.epoch, now);
        send_placement();
      }
    }
    std::string k = view_key(v);
    {
      std::lock_guard lock(m_);
      view_ = v;
    }
    if (k != last_key_) {
      last_key_ = std::move(k);
      if (ev.on_view) ev.on_view(v);
    }
  }

  identity self_;
  election_params params_;
  key key_;
  std::unique_ptr<zmq_transport> transport_;
  drop_log drops_;
  std::uint64_t seq_ = 0;
  std::string last_key_;
  std::string placement_lord_;  // the lord change last given to the placement
  std::optional<clock::time_point> lord_since_;
  std::int64_t lord_since_unix_ms_ = 0;
  mutable std::mutex m_;
  legion_view view_;
};

}  // namespace

std::unique_ptr<backend> make_zmq_backend(const legion_config& c, const timing& t,
                                          std::string& error) {
  std::unique_ptr<zmq_transport> tr = zmq_transport::open(c.address, c.members(), error);
  if (!tr) return nullptr;
  return std::make_unique<zmq_backend>(c, t, std::move(tr));
}

}  // namespace brood::legion
