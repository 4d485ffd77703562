// placement_runner: the placement machine between the legion's thread and its owner.
#include "brood/legion/placement_runner.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "brood/os/log.hpp"

namespace brood::legion {
namespace {

void poke(int fd) {
  const std::uint64_t one = 1;
  (void)::write(fd, &one, sizeof one);
}

}  // namespace

std::unique_ptr<placement_runner> placement_runner::open(std::string legion, std::uint32_t capacity,
                                                         std::chrono::milliseconds lease,
                                                         std::string& error) {
  os::unique_fd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) {
    error = "legion '" + legion + "': placement eventfd: " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<placement_runner>(
      new placement_runner(std::move(legion), capacity, lease, std::move(fd)));
}

placement_runner::placement_runner(std::string legion, std::uint32_t capacity,
                                   std::chrono::milliseconds lease, os::unique_fd fd)
    : legion_(std::move(legion)), capacity_(capacity), lease_(lease), actions_fd_(std::move(fd)) {
  view_.legion = legion_;
}

placement_runner::~placement_runner() = default;

std::vector<placement_action> placement_runner::take_actions() {
  std::uint64_t n = 0;
  (void)::read(actions_fd_.get(), &n, sizeof n);
  std::lock_guard lock(m_);
  return std::exchange(actions_, {});
}

void placement_runner::set_catalog(std::vector<vassal_spec> catalog) {
  std::lock_guard lock(m_);
  catalog_ = std::move(catalog);
  if (wake_) wake_();
}

void placement_runner::local_state(const std::string& vassal, vassal_state s) {
  std::lock_guard lock(m_);
  states_.emplace_back(vassal, s);
  if (wake_) wake_();
}

void placement_runner::sos(const std::string& vassal) {
  std::lock_guard lock(m_);
  sos_.push_back(vassal);
  if (wake_) wake_();
}

placement_view placement_runner::view() const {
  std::lock_guard lock(m_);
  return view_;
}

void placement_runner::start(const std::string& self, const std::vector<std::string>& members,
                             std::chrono::milliseconds report_every, std::function<void()> wake,
                             placement_clock::time_point now) {
  placement_params p;
  p.self = self;
  p.members = members;
  p.capacity = capacity_;
  p.report_every = report_every;
  p.lease = lease_;
  p.broodlord = broodlord_;
  p.kill_grace = std::max(std::chrono::milliseconds(500), report_every * 2);
  self_ = self;
  machine_ = std::make_unique<placement>(std::move(p), now);
  std::lock_guard lock(m_);
  wake_ = std::move(wake);
}

void placement_runner::stop() {
  std::lock_guard lock(m_);
  wake_ = nullptr;
}

void placement_runner::lord_changed(const std::string& lord, bool i_am_lord, std::uint64_t epoch,
                                    placement_clock::time_point now) {
  if (!machine_) return;
  machine_->lord_changed(lord, i_am_lord, epoch, now);
  // Every member's owner gives its scan; only a lord's machine takes it.
  if (i_am_lord && catalog_seen_) machine_->set_catalog(*catalog_seen_, now);
  {
    std::lock_guard lock(m_);
    view_.lord = lord;
  }
  publish(now);
}

void placement_runner::receive(const placement_message& m, placement_clock::time_point now) {
  if (!machine_) return;
  machine_->receive(m, now);
  publish(now);
}

void placement_runner::step(placement_clock::time_point now) {
  if (!machine_) return;
  std::optional<std::vector<vassal_spec>> catalog;
  std::vector<std::pair<std::string, vassal_state>> states;
  std::vector<std::string> sos;
  {
    std::lock_guard lock(m_);
    catalog.swap(catalog_);
    states.swap(states_);
    sos.swap(sos_);
  }
  for (const auto& [name, s] : states) machine_->local_state(name, s, now);
  for (const std::string& name : sos) machine_->sos(name, now);
  if (catalog) {
    catalog_seen_ = *catalog;
    machine_->set_catalog(std::move(*catalog), now);
  }
  if (now >= machine_->next_deadline()) machine_->tick(now);
  publish(now);
}

std::vector<placement_outgoing> placement_runner::take_outgoing() {
  if (!machine_) return {};
  return machine_->take_outgoing();
}

placement_clock::time_point placement_runner::next_deadline() const {
  if (!machine_) return placement_clock::time_point::max();
  return machine_->next_deadline();
}

placement_clock::time_point placement_runner::fence_at() const {
  if (!machine_) return placement_clock::time_point::max();
  return machine_->fence_at();
}

void placement_runner::publish(placement_clock::time_point now) {
  for (const std::string& d : machine_->take_decisions())
    os::log("legion '", legion_, "': placement: ", d);
  std::vector<placement_action> actions = machine_->take_actions();
  const std::set<std::string> running = machine_->running();
  const auto kills = std::count_if(actions.begin(), actions.end(), [](const placement_action& a) {
    return a.what == placement_action::kind::kill;
  });
  if (kills > 0) {
    // How late this thread saw its lease end: the fence's margin (the lord waits `kill_grace`
    // more than the member's lease) must exceed it and the kills' own delay.
    const auto late =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - machine_->lease_until());
    os::log("legion '", legion_, "': placement lease over ", late.count(), " ms ago: killing ",
            kills, " vassal(s) here (fenced)");
  }
  std::lock_guard lock(m_);
  view_.table = machine_->table();
  view_.fenced = machine_->fenced(now);
  view_.running.assign(running.begin(), running.end());
  if (actions.empty()) return;
  actions_.insert(actions_.end(), std::make_move_iterator(actions.begin()),
                  std::make_move_iterator(actions.end()));
  poke(actions_fd_.get());
}

}  // namespace brood::legion
