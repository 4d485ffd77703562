// fault_env: the log_env calls over the in-memory files and names, and its files and locks.
#include <cerrno>
#include <chrono>
#include <thread>

#include "fault_env.hpp"
#include "fault_inode.hpp"

namespace brood::spooler {

using namespace fault_detail;

class fault_file final : public log_file {
 public:
  fault_file(fault_env& env, fault_env::inode_ptr ino, std::string path)
      : env_(env), ino_(std::move(ino)), path_(std::move(path)) {}
  os::status pwrite(std::uint64_t offset, wire::bytes_view data) override {
    std::lock_guard lock(env_.mu_);
    if (auto s = env_.enter(fault_op::pwrite, "cannot write " + path_); !s.ok()) return s;
    ++env_.pwrites_;
    ino_->write(offset, data);
    return {};
  }
  os::status pread(std::uint64_t offset, std::size_t n, wire::bytes& out) override {
    std::lock_guard lock(env_.mu_);
    if (env_.off_) return err(EIO, "cannot read " + path_);
    out.clear();
    if (offset < ino_->data.size()) {
      const auto end = std::min<std::uint64_t>(ino_->data.size(), offset + n);
      out.assign(ino_->data.begin() + static_cast<std::ptrdiff_t>(offset),
                 ino_->data.begin() + static_cast<std::ptrdiff_t>(end));
    }
    return {};
  }
  // Covers the writes made before the call; with a sync delay, the writes made while it runs
  // stay unsynced (as on a disk), and a cut during the delay fails it.
  os::status datasync() override {
    std::uint64_t covered = 0;
    std::chrono::microseconds delay{};
    {
      std::lock_guard lock(env_.mu_);
      if (auto s = env_.enter(fault_op::datasync, "cannot fdatasync " + path_); !s.ok()) return s;
      covered = ino_->writes;
      delay = env_.sync_delay_;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    std::lock_guard lock(env_.mu_);
    if (env_.off_) return err(EIO, "cannot fdatasync " + path_ + " (power cut)");
    ++env_.datasyncs_;
    ino_->sync_through(covered);
    return {};
  }
  std::uint64_t size() override {
    std::lock_guard lock(env_.mu_);
    return ino_->data.size();
  }

 private:
  fault_env& env_;
  fault_env::inode_ptr ino_;
  std::string path_;
};

class fault_lock final : public log_lock {
 public:
  fault_lock(fault_env& env, std::string path, std::uint64_t token)
      : env_(env), path_(std::move(path)), token_(token) {}
  ~fault_lock() override {
    std::lock_guard lock(env_.mu_);
    const auto it = env_.locks_.find(path_);
    if (it != env_.locks_.end() && it->second == token_) env_.locks_.erase(it);
  }

 private:
  fault_env& env_;
  std::string path_;
  std::uint64_t token_;
};

os::status fault_env::create_file(const std::string& path, std::uint64_t size) {
  std::lock_guard lock(mu_);
  if (auto s = enter(fault_op::create_file, "cannot create " + path); !s.ok()) return s;
  if (names_.count(path)) return err(EEXIST, "cannot create " + path);
  if (!dirs_.count(parent(path))) return err(ENOENT, "cannot create " + path);
  auto ino = std::make_shared<inode>();
  ino->data.assign(size, 0);
  ino->sync();
  names_[path] = ino;
  durable_names_[path] = ino;
  return {};
}

os::result<std::unique_ptr<log_file>> fault_env::open_file(const std::string& path) {
  std::lock_guard lock(mu_);
  if (off_) return err(EIO, "cannot open " + path);
  const auto it = names_.find(path);
  if (it == names_.end()) return err(ENOENT, "cannot open " + path);
  return std::unique_ptr<log_file>(new fault_file(*this, it->second, path));
}

os::status fault_env::write_file(const std::string& dir, const std::string& temp_name,
                                 const std::string& final_name, wire::bytes_view data) {
  std::lock_guard lock(mu_);
  const std::string d = trim(dir);
  const std::string temp = join(d, temp_name);
  if (auto s = enter(fault_op::write_file, "cannot write " + temp); !s.ok()) return s;
  if (!dirs_.count(d)) return err(ENOENT, "cannot create " + temp);
  auto ino = std::make_shared<inode>();
  ino->write(0, data);
  change({d, {{temp, ino}}});
  change({d, {{temp, nullptr}, {join(d, final_name), ino}}});
  return {};
}

// A rename out of the pool, an overwrite in place (the old bytes past the new size dropped from
// what a reader sees; a crash image may keep them, as it may keep any unsynced state), a rename.
os::status fault_env::reuse_file(const std::string& reuse, const std::string& dir,
                                 const std::string& temp_name, const std::string& final_name,
                                 wire::bytes_view data) {
  std::lock_guard lock(mu_);
  const std::string d = trim(dir);
  const std::string temp = join(d, temp_name);
  if (auto s = enter(fault_op::write_file, "cannot reuse " + reuse); !s.ok()) return s;
  const auto it = names_.find(reuse);
  if (it == names_.end()) return err(ENOENT, "cannot take " + reuse);
  if (!dirs_.count(d)) return err(ENOENT, "cannot move " + reuse + " to " + temp);
  inode_ptr ino = it->second;
  change({parent(reuse), {{reuse, nullptr}}});
  for (const auto& [path, other] : names_) {
    if (other == ino) return err(ENOENT, reuse + " has another link: not reused");
  }
  ++reused_;
  change({d, {{temp, ino}}});
  ino->write(0, data);
  if (ino->data.size() > data.size()) ino->data.resize(data.size());
  change({d, {{temp, nullptr}, {join(d, final_name), ino}}});
  return {};
}

std::uint64_t fault_env::reused_files() const {
  std::lock_guard lock(mu_);
  return reused_;
}

os::status fault_env::read_file(const std::string& path, wire::bytes& out) {
  std::lock_guard lock(mu_);
  if (off_) return err(EIO, "cannot read " + path);
  const auto it = names_.find(path);
  if (it == names_.end()) return err(ENOENT, "cannot open " + path);
  out = it->second->data;
  return {};
}

bool fault_env::exists(const std::string& path) {
  std::lock_guard lock(mu_);
  return names_.count(path) || dirs_.count(trim(path));
}

os::status fault_env::remove_file(const std::string& path) {
  std::lock_guard lock(mu_);
  if (auto s = enter(fault_op::remove_file, "cannot remove " + path); !s.ok()) return s;
  if (!names_.count(path)) return err(ENOENT, "cannot remove " + path);
  change({parent(path), {{path, nullptr}}});
  return {};
}

os::result<std::vector<std::string>> fault_env::list_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  const std::string d = trim(dir);
  if (off_) return err(EIO, "cannot list " + d);
  if (!dirs_.count(d)) return err(ENOENT, "cannot open directory " + d);
  std::vector<std::string> out;
  for (const auto& [path, ino] : names_) {
    if (parent(path) == d) out.push_back(path.substr(path.rfind('/') + 1));
  }
  for (const auto& sub : dirs_) {
    if (sub != d && parent(sub) == d) out.push_back(sub.substr(sub.rfind('/') + 1));
  }
  return out;
}

os::status fault_env::make_dir(const std::string& path) {
  std::lock_guard lock(mu_);
  const std::string d = trim(path);
  if (auto s = enter(fault_op::any, "cannot create directory " + d); !s.ok()) return s;
  if (!dirs_.count(parent(d))) return err(ENOENT, "cannot create directory " + d);
  dirs_.insert(d);  // directories are durable at once (make_dir syncs the parent)
  return {};
}

os::status fault_env::sync_file(const std::string& path) {
  std::lock_guard lock(mu_);
  if (auto s = enter(fault_op::any, "cannot fsync " + path); !s.ok()) return s;
  const auto it = names_.find(path);
  if (it == names_.end()) return err(ENOENT, "cannot open " + path);
  it->second->sync();
  return {};
}

os::status fault_env::sync_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  const std::string d = trim(dir);
  if (auto s = enter(fault_op::any, "cannot fsync directory " + d); !s.ok()) return s;
  std::vector<name_change> rest;
  for (auto& c : pending_) {
    if (c.dir == d) {
      commit(c, durable_names_);
    } else {
      rest.push_back(std::move(c));
    }
  }
  pending_ = std::move(rest);
  return {};
}

os::status fault_env::sync_fs(const std::string& dir) {
  std::unique_lock lock(mu_);
  ++sync_fs_waiting_;
  hold_cv_.wait(lock, [&] { return !hold_sync_fs_ || off_; });
  --sync_fs_waiting_;
  if (auto s = enter(fault_op::sync_fs, "cannot syncfs " + dir); !s.ok()) return s;
  ++fs_syncs_;
  for (const auto& c : pending_) commit(c, durable_names_);
  pending_.clear();
  for (auto& [path, ino] : names_) ino->sync();
  return {};
}

os::result<std::unique_ptr<log_lock>> fault_env::try_lock(const std::string& path) {
  std::lock_guard lock(mu_);
  if (off_) return err(EIO, "cannot lock " + path);
  if (locks_.count(path)) return err(EWOULDBLOCK, "cannot lock " + path);
  if (!names_.count(path)) {
    if (!dirs_.count(parent(path))) return err(ENOENT, "cannot open " + path);
    change({parent(path), {{path, std::make_shared<inode>()}}});
  }
  locks_[path] = ++lock_tokens_;
  return std::unique_ptr<log_lock>(new fault_lock(*this, path, lock_tokens_));
}

}  // namespace brood::spooler
