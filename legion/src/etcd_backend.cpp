// make_etcd_backend (backend.hpp): the legion thread's loop around etcd::member (etcd_member.hpp),
// one tick per heartbeat, woken at once by a stop request.
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <random>

#include "brood/legion/backend.hpp"
#include "brood/os/log.hpp"
#include "etcd_client.hpp"
#include "etcd_member.hpp"

namespace brood::legion {
namespace {

std::string random_uuid() {
  std::random_device rd;
  std::uniform_int_distribution<int> nibble(0, 15);
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    int v = nibble(rd);
    if (i == 12) v = 4;            // version 4
    if (i == 16) v = 8 | (v & 3);  // variant 10xx
    out += "0123456789abcdef"[v];
  }
  return out;
}

identity make_identity(const legion_config& c) {
  identity id;
  id.legion = c.name;
  id.address = c.address.text();
  id.uuid = random_uuid();
  id.valor = c.valor;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) id.hostname = host;
  id.pid = ::getpid();
  id.scroll = c.scroll;
  return id;
}

class etcd_backend final : public backend {
 public:
  etcd_backend(const legion_config& c, const timing& t, std::vector<etcd::url> eps)
      : times_(t), client_(std::move(eps)), member_(c, t, client_, make_identity(c)) {}

  os::status run(std::stop_token stop, const backend_events& ev) override {
    member_.set_sink([&ev](const election_event& e) {
      if (ev.on_event) ev.on_event(e);
    });
    std::stop_callback wake(stop, [this] {
      client_.interrupt();
      std::lock_guard lock(mutex_);
      cv_.notify_all();
    });
    auto next = clock::now();
    while (!stop.stop_requested()) {
      member_.tick(clock::now());
      deliver(ev);
      next += times_.heartbeat;
      const auto now = clock::now();
      if (next < now) next = now;
      std::unique_lock lock(mutex_);
      cv_.wait_until(lock, stop, next, [] { return false; });
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

  timing times_;
  etcd::client client_;
  etcd::member member_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
};

}  // namespace

std::unique_ptr<backend> make_etcd_backend(const legion_config& c, const timing& t,
                                           std::string& error) {
  std::vector<etcd::url> eps;
  if (error = etcd::parse_endpoints(c.etcd_endpoints, eps); !error.empty()) {
    error = "legion '" + c.name + "': " + error;
    return nullptr;
  }
  etcd::client probe(eps);
  etcd::kv kv(probe, std::chrono::milliseconds(2000));
  // The client tries every endpoint in turn within the call.
  if (const etcd::reply r = kv.status(); !r.ok) {
    error = "legion '" + c.name + "': legion-etcd: no endpoint of '" + c.etcd_endpoints +
            "' answers /v3/maintenance/status (" + r.error + ")";
    return nullptr;
  }
  return std::make_unique<etcd_backend>(c, t, std::move(eps));
}

}  // namespace brood::legion
