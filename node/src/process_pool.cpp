// process_pool: slots, live processes, respawn and SIGKILL deadlines.
#include "process_pool.hpp"

#include <algorithm>

namespace brood::node {
namespace {

void consider(std::optional<process_pool::time_point>& first, process_pool::time_point t) {
  if (!first || t < *first) first = t;
}

}  // namespace

process_pool::process* process_pool::find(pid_t pid) noexcept {
  const auto it = live_.find(pid);
  return it == live_.end() ? nullptr : &it->second;
}

bool process_pool::all_running() const noexcept {
  return std::all_of(slots_.begin(), slots_.end(),
                     [](const slot& s) { return s.cheaped || s.pid > 0; });
}

bool process_pool::any_retiring() const noexcept {
  return std::any_of(live_.begin(), live_.end(), [](const auto& p) {
    return p.second.retiring && !p.second.cheaped && !p.second.recycled;
  });
}

void process_pool::spawned(std::size_t i, pid_t pid, time_point now, bool respawn) {
  slot& s = slots_[i];
  s.pid = pid;
  s.respawn_at.reset();
  if (respawn) ++s.respawns;
  process p;
  p.slot = i;
  p.spawned = now;
  live_[pid] = p;
}

void process_pool::detach(std::size_t i) noexcept {
  slots_[i].pid = 0;
  slots_[i].backoff.reset();
}

process_pool::clock::duration process_pool::on_death(std::size_t i, clock::duration lived,
                                                     bool clean) noexcept {
  slot& s = slots_[i];
  if (clean) {
    s.backoff.reset();
    return clock::duration::zero();
  }
  return s.backoff.on_death(lived);
}

std::optional<process_pool::exit_info> process_pool::exited(pid_t pid) {
  const auto it = live_.find(pid);
  if (it == live_.end()) return std::nullopt;
  exit_info e;
  e.slot = it->second.slot;
  e.was = it->second;
  live_.erase(it);
  e.current = slots_[e.slot].pid == pid;
  if (e.current) slots_[e.slot].pid = 0;
  return e;
}

void process_pool::tell_to_stop(pid_t pid, time_point deadline, bool restart) {
  process& p = live_.at(pid);
  p.retiring = true;
  p.restart_on_exit = restart;
  if (!p.kill_at || *p.kill_at > deadline) p.kill_at = deadline;
}

void process_pool::cheap(pid_t pid, time_point deadline) {
  process& p = live_.at(pid);
  tell_to_stop(pid, deadline, false);
  p.cheaped = true;
  slot& s = slots_[p.slot];
  if (s.pid == pid) s.pid = 0;
  s.cheaped = true;
  s.respawn_at.reset();
}

void process_pool::cancel_respawns() noexcept {
  for (slot& s : slots_) s.respawn_at.reset();
}

void process_pool::clear_kill_deadlines() noexcept {
  for (auto& [pid, p] : live_) p.kill_at.reset();
}

std::vector<std::size_t> process_pool::take_due_respawns(time_point now) {
  std::vector<std::size_t> due;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].respawn_at || *slots_[i].respawn_at > now) continue;
    slots_[i].respawn_at.reset();
    due.push_back(i);
  }
  return due;
}

std::vector<std::pair<pid_t, std::size_t>> process_pool::take_due_kills(time_point now) {
  std::vector<std::pair<pid_t, std::size_t>> due;
  for (auto& [pid, p] : live_) {
    if (!p.kill_at || *p.kill_at > now) continue;
    p.kill_at.reset();
    due.emplace_back(pid, p.slot);
  }
  return due;
}

std::optional<process_pool::time_point> process_pool::next_deadline() const {
  std::optional<time_point> first;
  for (const slot& s : slots_)
    if (s.respawn_at) consider(first, *s.respawn_at);
  for (const auto& [pid, p] : live_)
    if (p.kill_at) consider(first, *p.kill_at);
  return first;
}

}  // namespace brood::node
