#include "spool_queue.hpp"

#include <string.h>

#include <tuple>

namespace brood::spooler {

bool spool_queue::order::operator()(const entry& a, const entry& b) const {
  if (a.rank != b.rank) return a.rank < b.rank;
  if (by_name) {
    const int c = ::strverscmp(a.path.c_str() + a.name_at, b.path.c_str() + b.name_at);
    if (c != 0) return c < 0;
    return a.path < b.path;
  }
  return std::tie(a.due, a.path) < std::tie(b.due, b.path);
}

void spool_queue::add(const std::string& path, std::uint64_t rank, time_point due, bool exact) {
  remove(path);
  const auto slash = path.rfind('/');
  entry e{rank, due, path, slash == std::string::npos ? 0 : slash + 1, exact};
  locator where;
  where.in_waiting = waiting_.emplace(due, std::move(e));
  index_.emplace(path, where);
}

void spool_queue::remove(const std::string& path) {
  auto it = index_.find(path);
  if (it == index_.end()) return;
  if (it->second.ready)
    ready_.erase(it->second.in_ready);
  else
    waiting_.erase(it->second.in_waiting);
  index_.erase(it);
}

void spool_queue::clear() {
  ready_.clear();
  waiting_.clear();
  index_.clear();
}

void spool_queue::promote(time_point now) {
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    auto node = waiting_.extract(waiting_.begin());
    locator& where = index_.at(node.mapped().path);
    where.ready = true;
    where.in_ready = ready_.insert(std::move(node.mapped())).first;
  }
}

std::optional<spool_queue::popped> spool_queue::pop_due(time_point now) {
  promote(now);
  if (ready_.empty()) return std::nullopt;
  auto node = ready_.extract(ready_.begin());
  index_.erase(node.value().path);
  return popped{std::move(node.value().path), node.value().rank, node.value().due};
}

bool spool_queue::ready_before(std::uint64_t rank, time_point due, const std::string& path,
                               time_point now) {
  promote(now);
  if (ready_.empty()) return false;
  const auto slash = path.rfind('/');
  const entry e{rank, due, path, slash == std::string::npos ? 0 : slash + 1};
  return ready_.key_comp()(*ready_.begin(), e);
}

std::vector<std::pair<std::string, std::uint64_t>> spool_queue::estimated_after(time_point t,
                                                                                time_point now) {
  promote(now);
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const entry& e : ready_)
    if (!e.exact && e.due > t) out.emplace_back(e.path, e.rank);
  return out;
}

std::optional<spool_queue::time_point> spool_queue::next_due() const {
  if (waiting_.empty()) return std::nullopt;
  return waiting_.begin()->first;
}

}  // namespace brood::spooler
