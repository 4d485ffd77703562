// task_log: claiming a slot, opening and restarting its segments, recovering dead writers' slots.
#include <algorithm>
#include <cerrno>

#include "log_segment.hpp"
#include "task_log.hpp"

namespace brood::spooler {

using namespace tasklog;

os::status task_log::claim_slot() {
  for (int n = 0; n < opts_.max_slots; ++n) {
    auto l = env_.try_lock(slot_lock_path(dir_, n));
    if (l) {
      slot_ = n;
      lock_ = std::move(*l);
      return {};
    }
    if (l.error().code() != std::error_code(EWOULDBLOCK, std::system_category())) return l.error();
  }
  return os::status::from_errno(EBUSY, "no free task log slot in " + log_dir_of(dir_));
}

os::result<std::vector<int>> task_log::free_slots(std::vector<std::unique_ptr<log_lock>>& locks) {
  auto names = env_.list_dir(log_dir_of(dir_));
  if (!names) return names.error();
  std::vector<int> slots;
  for (const auto& n : *names) {
    const auto id = parse_segment_name(n);
    if (!id || id->second != 0 || id->first == slot_) continue;
    if (auto l = env_.try_lock(slot_lock_path(dir_, id->first))) {
      locks.push_back(std::move(*l));
      slots.push_back(id->first);
    }
  }
  return slots;
}

bool task_log::needs_recovery(int slot) {
  for (int which = 0; which < 2; ++which) {
    auto f = env_.open_file(segment_path(dir_, slot, which));
    wire::bytes head;
    segment_header h;
    if (f && (*f)->pread(0, header_size, head).ok() && decode_segment_header(head, h).is_record() &&
        h.state == segment_state::active) {
      return true;
    }
  }
  return false;
}

os::status task_log::recover_dead_slots() {
  std::vector<std::unique_ptr<log_lock>> locks;
  auto slots = free_slots(locks);
  if (!slots) return slots.error();
  std::vector<int> dead;
  for (const int n : *slots) {
    if (needs_recovery(n)) dead.push_back(n);
  }
  if (dead.empty()) return {};
  auto rep = recover_slots(env_, dir_, dead);
  if (!rep) return rep.error();
  std::lock_guard lock(mu_);
  stats_.dead_slots += dead.size();
  return {};
}

os::status task_log::open_segments() {
  std::vector<int> slots{slot_};
  std::vector<std::unique_ptr<log_lock>> others;  // held while recovering them
  if (opts_.recover_unlocked) {
    auto free = free_slots(others);
    if (!free) return free.error();
    slots.insert(slots.end(), free->begin(), free->end());
  }
  for (int which = 0; which < 2; ++which) {
    seg_[which].path = segment_path(dir_, slot_, which);
    if (!env_.exists(seg_[which].path)) {
      if (auto s = env_.create_file(seg_[which].path, opts_.segment_size); !s.ok()) return s;
    }
  }
  auto rep = recover_slots(env_, dir_, slots);
  if (!rep) return rep.error();
  stats_.recovery = *rep;
  for (int which = 0; which < 2; ++which) {
    auto f = env_.open_file(seg_[which].path);
    if (!f) return f.error();
    seg_[which].file = std::move(*f);
    wire::bytes head;
    if (auto s = seg_[which].file->pread(0, header_size, head); !s.ok()) return s;
    if (!decode_segment_header(head, seg_[which].header).is_record()) seg_[which].header = {};
    const std::uint64_t size = seg_[which].file->size();
    segment_size_ = which == 0 ? size : std::min(segment_size_, size);
  }
  if (segment_size_ < header_size + record_overhead + 1) {
    return os::status::from_errno(EINVAL, "task log segment too small in " + log_dir_of(dir_));
  }
  // Both are clean now: restart the older one, so the newer one's done records stay readable.
  return start_segment(seg_[0].header.generation <= seg_[1].header.generation ? 0 : 1, 1);
}

os::status task_log::start_segment(int which, std::uint64_t first_seq) {
  segment_header h;
  h.state = segment_state::active;
  h.generation = std::max(seg_[0].header.generation, seg_[1].header.generation) + 1;
  h.first_seq = first_seq;
  {
    std::lock_guard lock(mu_);
    clean_[which] = false;
  }
  task_since_ns_[which] = 0;
  if (auto s = write_header(*seg_[which].file, h); !s.ok()) return s;
  seg_[which].header = h;
  {
    std::lock_guard lock(mu_);  // the checkpointer reads it (age_step)
    cur_ = which;
  }
  offset_ = header_size;
  return {};
}

}  // namespace brood::spooler
