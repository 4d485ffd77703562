#pragma once
// One legion's placement machine (placement.hpp) run on that legion's thread, by the ZeroMQ
// backend (docs/legion.md "Placement", docs/architecture.md §6.4). Two sides:
// - the owner (the emperor, on its own thread) gives the catalog (lord only: its directory scan)
//   and the state of its vassals through a thread-safe inbox that wakes the legion's thread, and
//   takes the actions (start/stop/kill a vassal) when actions_fd() is readable;
// - the legion's thread (the backend) starts the machine with the member's parameters, feeds it
//   the election's lord changes and the placement messages received, runs it at its deadlines
//   and sends what it asks, stamped and MACed as every legion message.
// Thread-safety: the owner-side members and view() may be called from any thread; the others
// from the legion's thread only.
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "brood/legion/placement.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::legion {

// What stats and `brood legion --vassals` show.
struct placement_view {
  std::string legion;
  std::string lord;  // the lord's address as this member knows it ("" none)
  bool fenced = true;
  placement_table table;
  std::vector<std::string> running;  // this member's vassals (running or starting)
};

// {legion, lord, fenced, epoch, version, table: {vassal: [members]}, leaving: {vassal: member},
// catalog: {vassal: replicas}, running: [vassal]} (emperor-stats `legion_placement`, the view's
// `placement`, `brood legion --vassals`).
nlohmann::json to_json(const placement_view& v);

class placement_runner {
 public:
  // `capacity`: legion-max-vassals; `lease`: legion-vassal-lease. nullptr (error set) when the
  // eventfd cannot be made.
  static std::unique_ptr<placement_runner> open(std::string legion, std::uint32_t capacity,
                                                std::chrono::milliseconds lease,
                                                std::string& error);
  ~placement_runner();

  const std::string& legion() const noexcept { return legion_; }

  // Owner side. Every member's owner may give its scan: only a lord's machine uses it (again
  // when this member becomes lord).
  int actions_fd() const noexcept { return actions_fd_.get(); }
  std::vector<placement_action> take_actions();  // drains actions_fd()
  void set_catalog(std::vector<vassal_spec> catalog);
  void local_state(const std::string& vassal, vassal_state s);
  void sos(const std::string& vassal);  // one of this member's vassals asked for reinforcements
  // emperor-broodlord: the zergs this member's placement may start across the legion when it is
  // lord (placement.hpp). Before start().
  void set_broodlord(std::uint32_t n) { broodlord_ = n; }
  placement_view view() const;

  // Legion thread side. `wake` pokes the legion thread's poll (set while it runs).
  void start(const std::string& self, const std::vector<std::string>& members,
             std::chrono::milliseconds report_every, std::function<void()> wake,
             placement_clock::time_point now);
  void stop();  // the thread is leaving: forgets `wake`
  void lord_changed(const std::string& lord, bool i_am_lord, std::uint64_t epoch,
                    placement_clock::time_point now);
  void receive(const placement_message& m, placement_clock::time_point now);
  // Applies the inbox, runs what is due, publishes the actions and the view.
  void step(placement_clock::time_point now);
  std::vector<placement_outgoing> take_outgoing();
  placement_clock::time_point next_deadline() const;
  placement_clock::time_point fence_at() const;  // placement::fence_at()

 private:
  placement_runner(std::string legion, std::uint32_t capacity, std::chrono::milliseconds lease,
                   os::unique_fd fd);
  void publish(placement_clock::time_point now);

  std::string legion_;
  std::uint32_t capacity_;
  std::chrono::milliseconds lease_;
  std::uint32_t broodlord_ = 0;
  os::unique_fd actions_fd_;
  std::unique_ptr<placement> machine_;  // legion thread only
  std::string self_;
  std::optional<std::vector<vassal_spec>> catalog_seen_;  // the owner's latest scan

  mutable std::mutex m_;  // guards what follows
  std::function<void()> wake_;
  std::optional<std::vector<vassal_spec>> catalog_;
  std::vector<std::pair<std::string, vassal_state>> states_;
  std::vector<std::string> sos_;
  std::vector<placement_action> actions_;
  placement_view view_;
};

}  // namespace brood::legion
