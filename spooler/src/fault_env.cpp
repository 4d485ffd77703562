// fault_env: the fault control (cuts, reboots, injected errors) and the crash image.
#include <cerrno>

#include "fault_env.hpp"
#include "fault_inode.hpp"

namespace brood::spooler {

using namespace fault_detail;

fault_env::fault_env(std::uint64_t seed) : rng_(seed) { dirs_.insert("/"); }
fault_env::~fault_env() = default;

void fault_env::cut_after(std::uint64_t n) {
  std::lock_guard lock(mu_);
  cut_in_ = static_cast<std::int64_t>(n);
}

void fault_env::cut_now() {
  std::lock_guard lock(mu_);
  if (!off_) crash();
}

bool fault_env::is_off() const {
  std::lock_guard lock(mu_);
  return off_;
}

void fault_env::set_sync_delay(std::chrono::microseconds d) {
  std::lock_guard lock(mu_);
  sync_delay_ = d;
}

void fault_env::hold_sync_fs(bool hold) {
  std::lock_guard lock(mu_);
  hold_sync_fs_ = hold;
  hold_cv_.notify_all();
}

std::uint64_t fault_env::sync_fs_waiting() const {
  std::lock_guard lock(mu_);
  return sync_fs_waiting_;
}

void fault_env::inject(fault_op op, int e, int count) {
  std::lock_guard lock(mu_);
  injected_[op] = {e, count};
}

std::uint64_t fault_env::datasyncs() const {
  std::lock_guard lock(mu_);
  return datasyncs_;
}
std::uint64_t fault_env::pwrites() const {
  std::lock_guard lock(mu_);
  return pwrites_;
}
std::uint64_t fault_env::fs_syncs() const {
  std::lock_guard lock(mu_);
  return fs_syncs_;
}

os::status fault_env::enter(fault_op op, const std::string& what) {
  if (!off_ && cut_in_ >= 0 && cut_in_-- == 0) crash();
  if (off_) return err(EIO, what + " (power cut)");
  for (const fault_op k : {op, fault_op::any}) {
    auto it = injected_.find(k);
    if (it == injected_.end() || it->second.second <= 0) continue;
    --it->second.second;
    return err(it->second.first, what);
  }
  return {};
}

void fault_env::commit(const name_change& c, std::map<std::string, inode_ptr>& names) {
  for (const auto& [path, ino] : c.set) {
    if (ino) {
      names[path] = ino;
    } else {
      names.erase(path);
    }
  }
}

void fault_env::change(name_change c) {
  commit(c, names_);
  pending_.push_back(std::move(c));
}

// The crash image: durable names plus a random prefix of the pending changes; each file its
// synced bytes plus each later write lost, kept or torn.
void fault_env::crash() {
  off_ = true;
  hold_cv_.notify_all();
  cut_in_ = -1;
  std::map<std::string, inode_ptr> names = durable_names_;
  const std::size_t keep = std::uniform_int_distribution<std::size_t>(0, pending_.size())(rng_);
  for (std::size_t i = 0; i < keep; ++i) commit(pending_[i], names);
  std::map<inode*, inode_ptr> copies;
  for (auto& [path, ino] : names) {
    auto& copy = copies[ino.get()];
    if (!copy) {
      copy = std::make_shared<inode>();
      copy->data = ino->synced;
      for (const auto& [id, off, bytes] : ino->unsynced) {
        const int fate = std::uniform_int_distribution<int>(0, 2)(rng_);
        if (fate == 0) continue;  // lost
        std::size_t n = bytes.size();
        if (fate == 1 && n > 0) n = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
        copy->write(off, wire::bytes_view(bytes).first(n));
      }
      copy->sync();
    }
    ino = copy;
  }
  image_names_ = std::move(names);
}

void fault_env::reboot() {
  std::lock_guard lock(mu_);
  if (!off_) crash();
  names_ = image_names_;
  durable_names_ = image_names_;
  image_names_.clear();
  pending_.clear();
  locks_.clear();
  injected_.clear();
  off_ = false;
}

}  // namespace brood::spooler
