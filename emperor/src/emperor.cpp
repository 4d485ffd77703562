// run_emperor: the emperor process. One event_loop on one thread drives an emperor_core with
//   signals (signalfd)     -> on_signals: stop_all / reload_all / clear_blacklist / describe / reap
//   inotify                -> vassal_monitor::scan_events (the files named) -> core.on_scan
//   freq timer             -> rescan: vassal_monitor::scan (every file) -> core.on_scan
//   vassal channels        -> core.on_message / on_channel_closed (reported by os_launcher)
//   on-demand sockets      -> core.on_demand_connection (reported by os_launcher)
//   the core's deadline    -> core.on_tick (one timer, re-armed after every event)
//   emperor-stats socket   -> stats_json(core) (os::stats_server)
//   emperor = legion:NAME,DIR: DIR's monitor -> placement_gate -> core.on_scan, the catalog to the
//   placement (placement_runner, run on the legion's thread); its actions (actions_fd) -> the
//   gate -> core.on_scan / core.kill_now; after every event the gate's vassal states -> placement
#include "brood/emperor/emperor.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "brood/emperor/core.hpp"
#include "brood/emperor/monitor.hpp"
#include "brood/emperor/os_launcher.hpp"
#include "brood/emperor/placement_gate.hpp"
#include "brood/emperor/stats.hpp"
#include "brood/legion/member.hpp"
#include "brood/legion/placement_runner.hpp"
#include "brood/legion/process.hpp"
#include "brood/os/child_process.hpp"
#include "brood/os/event_loop.hpp"
#include "brood/os/log.hpp"
#include "brood/os/signal_source.hpp"
#include "brood/os/stats_server.hpp"
#include "brood/os/step_trace.hpp"
#include "vassal_attrs.hpp"

namespace brood::emperor {
namespace {

class emperor_process final : public launcher_events {
 public:
  // `signals`: opened for the signals on_signal() handles.
  emperor_process(const emperor_config& cfg, os::signal_source signals, std::string self_exe,
                  legion::placement_runner* placement)
      : cfg_(cfg),
        placement_(placement),
        signals_(std::move(signals)),
        launcher_(loop_, *this, cfg.listen_queue),
        core_(cfg, launcher_, std::move(self_exe), os::environment_strings()),
        monitor_(cfg.sources, cfg.on_demand_extension, cfg.on_demand_directory,
                 cfg.uses_fork_server(), cfg.fork_server_attr) {
    launcher_.set_fork_timeout(cfg.fork_timeout);
    if (placement_) {
      legion_monitor_ = std::make_unique<vassal_monitor>(
          std::vector<std::string>{cfg.placement.dir}, cfg.on_demand_extension,
          cfg.on_demand_directory, cfg.uses_fork_server(), cfg.fork_server_attr);
      gate_ = std::make_unique<placement_gate>(read_replicas, has_zerg_section);
      // Broodlord across the legion: an SOS of a vassal placed here goes to the lord.
      core_.set_sos_handler([this](const std::string& name) {
        if (!gate_->assigned().count(name)) return false;
        placement_->sos(name);
        return true;
      });
    }
  }

  int run() {
    if (!cfg_.stats.empty() && !start_stats()) return 1;
    loop_.watch(signals_.fd(), [this] { on_signals(); });
    if (monitor_.fd() >= 0) loop_.watch(monitor_.fd(), [this] { on_monitor_readable(); });
    if (legion_monitor_ && legion_monitor_->fd() >= 0)
      loop_.watch(legion_monitor_->fd(), [this] {
        legion_monitor_->drain();
        rescan();
      });
    if (placement_) loop_.watch(placement_->actions_fd(), [this] { on_placement_actions(); });
    os::log("watching ", describe_sources(), " (rescan every ", cfg_.freq.count(), " s)");
    on_scan_due();
    if (const os::status st = loop_.run(); !st.ok()) {
      os::log("event loop failed: ", st.message());
      return 1;
    }
    os::log("the emperor is buried");
    return 0;
  }

  // launcher_events
  void on_message(pid_t pid, std::uint8_t byte) override {
    core_.on_message(pid, byte, moment::now());
    after_event();
  }
  void on_channel_closed(pid_t pid) override {
    core_.on_channel_closed(pid, moment::now());
    after_event();
  }
  void on_demand_connection(const std::string& name) override {
    core_.on_demand_connection(name, moment::now());
    after_event();
  }

 private:
  bool start_stats() {
    auto server = os::stats_server::open(loop_, cfg_.stats, [this] {
      if (!placement_) return stats_json(core_);
      const legion::placement_view v = placement_->view();
      return stats_json(core_, &v);
    });
    if (!server) {
      os::log("cannot serve emperor-stats: ", server.error().message());
      return false;
    }
    stats_ = std::move(*server);
    os::log("emperor-stats on ", stats_->name());
    return true;
  }

  std::string describe_sources() const {
    std::string out;
    for (const auto& s : cfg_.sources) out += (out.empty() ? "" : ", ") + s;
    if (placement_)
      out += (out.empty() ? "" : ", ") + cfg_.placement.dir + " (placed by legion " +
             cfg_.placement.legion + ")";
    return out;
  }

  // Only the files the events name are looked at (the full rescan stays on the timer), and the
  // legion's directory is not listed unless its own watch fires.
  void on_monitor_readable() {
    os::step_trace("emperor.inotify");
    if (core_.stopping_all()) {
      monitor_.drain();
      return;
    }
    core_.on_scan(monitor_.scan_events(), moment::now());
    after_event();
  }

  void on_scan_due() {
    rescan();
    scan_timer_ = loop_.after(cfg_.freq, [this] { on_scan_due(); });
  }

  void rescan() {
    if (core_.stopping_all()) return;
    core_.on_scan(monitor_.scan(), moment::now());
    if (gate_) {
      core_.on_scan(gate_->on_scan(legion_monitor_->scan()), moment::now());
      std::vector<legion::vassal_spec> catalog = gate_->catalog();
      if (catalog != catalog_) {
        catalog_ = catalog;
        placement_->set_catalog(std::move(catalog));
      }
    }
    after_event();
  }

  void on_placement_actions() {
    for (const legion::placement_action& a : placement_->take_actions()) {
      if (core_.stopping_all()) break;
      const placement_gate::effect e = gate_->on_action(a);
      core_.on_scan(e.changes, moment::now());
      for (const std::string& name : e.kill) core_.kill_now(name, moment::now());
      for (const auto& [base, zerg] : e.zergs) core_.add_zerg(base, zerg, moment::now());
    }
    after_event();
  }

  // `legion-replicas` of the file's [uwsgi] section (default 1; a bad value is logged, 1).
  static std::uint32_t read_replicas(const vassal_file& f) {
    std::ifstream in(f.path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string v = ini_value(text.str(), "uwsgi", "legion-replicas");
    if (v.empty()) return 1;
    char* end = nullptr;
    const unsigned long n = std::strtoul(v.c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 1024) {
      os::log("vassal ", f.name, ": legion-replicas '", v, "' is not a number from 1 to 1024; 1");
      return 1;
    }
    return static_cast<std::uint32_t>(n);
  }

  // The file has a [zerg] section (an .ini file of the legion's directory).
  static bool has_zerg_section(const vassal_file& f) {
    std::ifstream in(f.path);
    std::stringstream text;
    text << in.rdbuf();
    return ini_has_section(text.str(), "zerg");
  }

  void on_signals() {
    for (int signo : signals_.read_pending()) on_signal(signo);
    after_event();
  }

  void on_signal(int signo) {
    switch (signo) {
      case SIGINT:
      case SIGTERM:
      case SIGQUIT:
        core_.stop_all(moment::now());
        loop_.cancel(scan_timer_);
        break;
      case SIGHUP:
        os::log("reloading every vassal (SIGHUP)");
        core_.reload_all(moment::now());
        break;
      case SIGURG:
        os::log("blacklist cleared (SIGURG)");
        core_.clear_blacklist();
        break;
      case SIGUSR1:
        os::log("vassals:\n", core_.describe());
        break;
      case SIGWINCH:
        rescan();
        break;
      case SIGCHLD:
        reap();
        break;
      default:
        break;
    }
  }

  void reap() {
    for (os::reaped_child c = os::reap_one(); c.pid > 0; c = os::reap_one())
      core_.on_exit(c.pid, c.status, moment::now());
  }

  // Re-arms the core's timer and ends the loop once a stop has completed.
  void after_event() {
    if (gate_)
      for (const auto& [name, st] : gate_->states(core_.vassals(), core_.blacklist()))
        placement_->local_state(name, st);
    if (core_.finished()) {
      loop_.stop();
      return;
    }
    auto due = core_.next_deadline();
    if (due == armed_for_) return;
    loop_.cancel(tick_timer_);
    tick_timer_ = 0;
    armed_for_ = due;
    if (!due) return;
    tick_timer_ = loop_.at(*due, [this] {
      tick_timer_ = 0;
      armed_for_.reset();
      core_.on_tick(moment::now());
      after_event();
    });
  }

  const emperor_config& cfg_;
  legion::placement_runner* placement_;  // null: no emperor = legion:NAME,DIR
  os::event_loop loop_;
  os::signal_source signals_;
  os_launcher launcher_;
  emperor_core core_;
  vassal_monitor monitor_;
  std::unique_ptr<vassal_monitor> legion_monitor_;  // the legion's DIR
  std::unique_ptr<placement_gate> gate_;
  std::vector<legion::vassal_spec> catalog_;  // the latest given to the placement
  std::unique_ptr<os::stats_server> stats_;
  os::event_loop::timer_id scan_timer_ = 0;
  os::event_loop::timer_id tick_timer_ = 0;
  std::optional<std::chrono::steady_clock::time_point> armed_for_;
};

}  // namespace

int run_emperor(const emperor_config& cfg) {
  os::set_log_role("emperor");
  auto signals = os::signal_source::open(
      {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGURG, SIGUSR1, SIGCHLD, SIGWINCH});
  if (!signals) {
    os::log(signals.error().message());
    return 1;
  }
  // Adopted vassals are a base's grandchildren: as a subreaper the emperor inherits and reaps
  // them (docs/uwsgi-compat.md §17.2).
  if (cfg.subreaper || cfg.uses_fork_server()) {
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
      os::log("cannot become a child subreaper: ", std::strerror(errno),
              "; adopted vassals will not be reaped by the emperor");
    else
      os::log("child subreaper: adopted vassals are reaped by the emperor");
  }
  auto self = os::self_exe();  // vassals run it, unless emperor-wrapper names another program
  if (!self) os::log(self.error().message());
  std::unique_ptr<legion::placement_runner> placement;
  if (!cfg.placement.legion.empty()) {
    std::string error;
    placement = legion::placement_runner::open(cfg.placement.legion, cfg.legion.max_vassals,
                                               cfg.legion.times.vassal_lease, error);
    if (!placement) {
      os::log(error);
      return 1;
    }
    placement->set_broodlord(static_cast<std::uint32_t>(cfg.broodlord));
  }
  emperor_process e(cfg, std::move(*signals), self ? std::move(*self) : std::string(),
                    placement.get());
  // The emperor as a member of its legions (docs/config.md "Legion"): the threads start after the
  // signals are blocked; at the end a lord resigns and the death hooks run.
  std::unique_ptr<legion::members> legions;
  if (!cfg.legion.legions.empty()) {
    std::string error;
    std::vector<legion::placement_runner*> placements;
    if (placement) placements.push_back(placement.get());
    legions =
        legion::members::start(cfg.legion, legion::member_hooks{}, nullptr, error, placements);
    if (!legions) {
      os::log(error);
      return 1;
    }
    legion::set_process_legion(legions.get(), nullptr);
  }
  const int status = e.run();
  legion::set_process_legion(nullptr, nullptr);
  legions.reset();
  return status;
}

}  // namespace brood::emperor
