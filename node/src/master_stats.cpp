// master::stats_document: the node's stats snapshot (scoreboard, sockets, /proc, spoolers) as
// uWSGI's stats JSON. Runs in the master for each stats connection.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <system_error>

#include "brood/legion/member.hpp"
#include "brood/legion/process.hpp"
#include "brood/os/listen_queue.hpp"
#include "brood/os/log.hpp"
#include "brood/os/process_memory.hpp"
#include "brood/os/socket_address.hpp"
#include "brood/spooler/spool_store.hpp"

#include "master.hpp"
#include "stats_json.hpp"

#ifndef BROOD_VERSION
#define BROOD_VERSION "unknown"
#endif

namespace brood::node {
namespace {

// A listening socket's name and accept queue (os::listen_queue: TCP and unix stream sockets).
// When it cannot be measured, queue is 0, max_queue the configured listen_queue and `measured`
// false.
socket_stats probe_socket(int fd, int listen_queue, bool& measured) {
  socket_stats s;
  s.name = os::local_name(fd);
  s.max_queue = static_cast<std::uint64_t>(listen_queue > 0 ? listen_queue : 0);
  const std::optional<os::listen_queue_info> q = os::listen_queue(fd);
  measured = q.has_value();
  if (q) {
    s.queue = q->queue;
    s.max_queue = q->max;
  }
  return s;
}

std::string current_dir() {
  std::string buf(4096, '\0');
  if (::getcwd(buf.data(), buf.size()) == nullptr) return "";
  return buf.c_str();
}

}  // namespace

// Binds the stats server. True without stats; false (logged) when it fails.
bool master::start_stats() {
  if (cfg_.stats.empty()) return true;
  auto server = os::stats_server::open(loop_, cfg_.stats, [this] { return stats_document(); });
  if (!server) {
    os::log(server.error().message());
    return false;
  }
  stats_ = std::move(*server);
  os::log("*** Stats server enabled on ", stats_->name(), " fd: ", stats_->fd(), " ***");
  return true;
}

// The worker of slot `id` as the scoreboard has it; delta_requests counts the requests since its
// process claimed the slot (uWSGI: since the spawn; max-requests counts those).
worker_stats master::worker_snapshot(unsigned id) {
  const scoreboard::slot& s = board_->at(id);
  worker_stats w;
  w.id = id;
  w.pid = s.pid.load();
  w.accepting = s.accepting.load() != 0;
  w.requests = s.requests.load();
  const std::uint64_t at_spawn = s.requests_at_spawn.load();
  w.delta_requests = w.requests >= at_spawn ? w.requests - at_spawn : w.requests;
  w.exceptions = s.exceptions.load();
  w.busy = w.pid > 0 && s.in_request.load() > 0;
  w.cheap = w.pid == 0 && s.state.load() == slot_state::cheap;
  w.paused = w.pid > 0 && core_->paused();
  w.request_start = s.request_start_us.load() / 1000000;
  if (const auto mem = os::read_process_memory(static_cast<pid_t>(w.pid))) {
    w.rss = mem->rss;
    w.vsz = mem->vsz;
  }
  w.running_time = s.running_us.load();
  w.last_spawn = s.last_spawn.load();
  w.respawn_count = s.respawn_count.load();
  w.harakiri_count = s.harakiri_count.load();
  w.tx = s.tx.load();
  w.avg_rt = w.requests ? w.running_time / w.requests : 0;
  w.write_errors = s.write_errors.load();
  w.read_errors = s.read_errors.load();
  const unsigned threads = std::min(cfg_.threads, max_cores);
  for (unsigned i = 0; threads > 1 && i < threads; ++i) {
    const scoreboard::core& c = s.cores[i];
    const bool busy = w.pid > 0 && c.in_request.load() > 0;
    w.cores.push_back({c.requests.load(), busy, c.request_start_us.load() / 1000000});
  }
  return w;
}

std::string master::stats_document() {
  node_stats doc;
  doc.version = BROOD_VERSION;
  doc.pid = ::getpid();
  doc.uid = ::getuid();
  doc.gid = ::getgid();
  doc.cwd = current_dir();
  bool load_known = false;
  for (int fd : listen_fds_) {
    bool measured = false;
    doc.sockets.push_back(probe_socket(fd, cfg_.listen_queue, measured));
    const std::uint64_t queue = doc.sockets.back().queue;
    if (queue > doc.listen_queue) doc.listen_queue = queue;
    if (measured && !load_known) {
      doc.load = queue;
      load_known = true;
    }
  }
  for (unsigned id = 1; id <= board_->size(); ++id) doc.workers.push_back(worker_snapshot(id));
  if (const spooler::spooler_board* sb = launcher_->spooler_board()) {
    std::map<std::string, spooler::spool_log_stats> logs;  // one read per dir
    for (std::size_t i = 0; i < sb->size(); ++i) {
      spooler_stats sp;
      sp.dir = sb->dir(i);
      sp.pid = sb->pid(i);
      sp.tasks = sb->tasks_done(i);
      sp.respawns = core_->spoolers().at(i).respawns;
      sp.running = sp.pid > 0 && !sb->running(i).empty();
      auto it = logs.find(sp.dir);
      if (it == logs.end())
        it = logs.emplace(sp.dir, spooler::spool_store::log_stats(sp.dir)).first;
      sp.log_segments = it->second.segments;
      sp.log_pending = it->second.pending;
      sp.log_tasks = it->second.tasks;
      sp.log_commits = it->second.commits;
      sp.log_last_batch = it->second.last_batch;
      sp.log_max_batch = it->second.max_batch;
      doc.spoolers.push_back(std::move(sp));
    }
  }
  if (core_->cheaper_name()[0] != '\0' || core_->sleeping()) {
    cheaper_stats& c = doc.cheaper;
    c.algo = core_->cheaper_name();
    c.cheaper = cfg_.cheaper.cheaper;
    c.processes = static_cast<unsigned>(core_->workers().size());
    for (std::size_t i = 0; i < core_->workers().size(); ++i)
      c.active += core_->workers().at(i).pid > 0 ? 1 : 0;
    c.cheap_mode = core_->sleeping();
    const cheaper_decision& d = core_->last_decision();
    if (d.workers != 0)
      c.last_decision = (d.workers > 0 ? "spawn " : "cheap ") +
                        std::to_string(d.workers > 0 ? d.workers : -d.workers) +
                        (d.why.empty() ? "" : ": " + d.why);
    c.last_decision_at = core_->last_decision_wall();
  }
  if (const legion::members* m = legion::process_members()) doc.legions = m->views();
  if (subscriber_)
    for (const subscriber::view& v : subscriber_->targets())
      doc.subscriptions.push_back({v.server, v.key, v.address, core_->subscriptions_blocked()});
  return stats_json(doc);
}

}  // namespace brood::node
