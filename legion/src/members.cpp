// brood::legion::members: a thread per legion running its backend (ZeroMQ or etcd), one hook
// thread for every legion's hooks and attach daemons, the views kept for stats and workers.
#include <signal.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

#include "attach_daemons.hpp"
#include "brood/legion/backend.hpp"
#include "brood/legion/member.hpp"
#include "brood/legion/shared_views.hpp"
#include "brood/os/log.hpp"
#include "fork_close.hpp"
#include "hook_runner.hpp"

namespace brood::legion {
namespace {

struct legion_slot {
  legion_config cfg;
  std::unique_ptr<backend> be;
  std::unique_ptr<attach_daemons> daemons;  // used on the hook thread only
  std::stop_source stop;
  std::thread thread;
  mutable std::mutex m;
  legion_view view;
};

}  // namespace

struct members::impl {
  member_hooks hooks;
  shared_views* views = nullptr;
  std::chrono::milliseconds lease{400};
  std::vector<std::unique_ptr<legion_slot>> slots;
  std::unique_ptr<hook_runner> runner;

  void run_hooks(legion_slot& s, const hook_context& c) {
    auto it = s.cfg.hooks.find(c.event);
    if (it != s.cfg.hooks.end()) run_hook_actions(it->second, c, hooks.raise_signal);
  }

  // On the legion's thread: hands the event to the hook thread. An unlord waits (up to a lease,
  // after which the voters' promises end anyway) until its hooks ran and the attach daemons
  // stopped, so that a resignation, sent after this returns, never lets a successor act while
  // this member still does.
  void on_event(legion_slot& s, const election_event& e) {
    const char* name = hook_event_name(e.kind);
    if (e.kind == hook_event::node_joined || e.kind == hook_event::node_left)
      os::log("legion '", s.cfg.name, "': ", name, " ", e.member, " (epoch ", e.epoch, ")");
    else
      os::log("legion '", s.cfg.name, "': ", name, " (epoch ", e.epoch, ")");
    // Its own line: harnesses parse the one above as it is (bench/python/legion_cluster.py).
    if (!e.why.empty())
      os::log("legion '", s.cfg.name, "': stepped down (epoch ", e.epoch, "): ", e.why);
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> finished = done->get_future();
    runner->post([this, &s, e, done] {
      hook_context c{s.cfg.name, e.kind, e.epoch, e.member};
      run_hooks(s, c);
      if (e.kind == hook_event::lord) s.daemons->start(hook_environment(c));
      if (e.kind == hook_event::unlord) s.daemons->stop();
      if ((e.kind == hook_event::lord || e.kind == hook_event::unlord) && hooks.on_lord_change)
        hooks.on_lord_change(s.cfg.name, e.kind == hook_event::lord, e.epoch);
      done->set_value();
    });
    if (e.kind == hook_event::unlord) finished.wait_for(lease);
  }

  void on_view(legion_slot& s, const legion_view& v) {
    {
      std::lock_guard lock(s.m);
      s.view = v;
    }
    if (views != nullptr) views->publish(s.cfg.name, v, v.lord_until);
  }

  void start_thread(legion_slot& s) {
    s.thread = thread_without_signals([this, &s, token = s.stop.get_token()] {
      backend_events ev;
      ev.on_event = [this, &s](const election_event& e) { on_event(s, e); };
      ev.on_view = [this, &s](const legion_view& v) { on_view(s, v); };
      if (os::status st = s.be->run(token, ev); !st.ok())
        os::log("legion '", s.cfg.name, "' stopped: ", st.message());
    });
  }

  // Stops every legion thread (lords resign: their unlord hooks are queued), then the death
  // hooks and the attach daemons on the hook thread, then that thread.
  void shutdown() {
    if (!runner) return;  // start() failed before anything ran
    for (auto& s : slots) s->stop.request_stop();
    for (auto& s : slots)
      if (s->thread.joinable()) s->thread.join();
    for (auto& s : slots)
      runner->post([this, sp = s.get()] {
        run_hooks(*sp, hook_context{sp->cfg.name, hook_event::death, sp->be->view().epoch, {}});
        sp->daemons->stop();
      });
    runner.reset();
  }
};

std::unique_ptr<members> members::start(const config& c, member_hooks hooks, shared_views* views,
                                        std::string& error,
                                        const std::vector<placement_runner*>& placements) {
  for (placement_runner* pr : placements) {
    bool found = false;
    for (const legion_config& l : c.legions) {
      if (l.name != pr->legion()) continue;
      found = true;
    }
    if (!found) {
      error = "emperor = legion:" + pr->legion() + ",DIR: no legion '" + pr->legion() +
              "' is declared (legion = NAME ADDR VALOR SECRET)";
      return nullptr;
    }
  }
  std::unique_ptr<members> out(new members());
  out->impl_ = std::make_unique<impl>();
  impl& p = *out->impl_;
  p.hooks = std::move(hooks);
  p.views = views;
  p.lease = c.times.lease;
  watch_forks(c);  // a worker forked later must not keep this member's connections open
  for (const legion_config& l : c.legions) {
    auto s = std::make_unique<legion_slot>();
    s->cfg = l;
    std::string why;
    s->be = l.etcd_endpoints.empty() ? make_zmq_backend(l, c.times, why)
                                     : make_etcd_backend(l, c.times, why);
    if (!s->be) {
      error = "legion '" + l.name + "': " + why;
      return nullptr;  // nothing started yet: the backends made so far just close
    }
    s->view = s->be->view();
    for (placement_runner* pr : placements)
      if (pr->legion() == l.name) s->be->attach_placement(pr);
    s->daemons = std::make_unique<attach_daemons>(l.name, l.attach_daemons);
    p.slots.push_back(std::move(s));
  }
  p.runner = std::make_unique<hook_runner>([&p] {
    for (auto& s : p.slots) s->daemons->check();
  });
  for (auto& s : p.slots) {
    if (views != nullptr) views->publish(s->cfg.name, s->view);
    p.runner->post([&p, sp = s.get()] {
      p.run_hooks(*sp, hook_context{sp->cfg.name, hook_event::setup, 0, {}});
    });
  }
  for (auto& s : p.slots) p.start_thread(*s);
  return out;
}

members::~members() {
  if (impl_) impl_->shutdown();
}

std::vector<legion_view> members::views() const {
  std::vector<legion_view> out;
  for (const auto& s : impl_->slots) {
    std::lock_guard lock(s->m);
    out.push_back(s->view);
  }
  return out;
}

bool members::i_am_the_lord(const std::string& legion) const {
  for (const auto& s : impl_->slots)
    if (s->cfg.name == legion) {
      std::lock_guard lock(s->m);
      return s->view.i_am_the_lord;
    }
  return false;
}

std::uint64_t members::epoch(const std::string& legion) const {
  for (const auto& s : impl_->slots)
    if (s->cfg.name == legion) {
      std::lock_guard lock(s->m);
      return s->view.epoch;
    }
  return 0;
}

}  // namespace brood::legion
