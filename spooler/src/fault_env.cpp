#include "fault_env.hpp"

#include <cerrno>
#include <chrono>
#include <thread>

namespace brood::spooler {

struct fault_env::inode {
  struct write_op {
    std::uint64_t id;
    std::uint64_t offset;
    wire::bytes bytes;
  };
  wire::bytes data;                // what a reader sees now
  wire::bytes synced;              // what survives a cut for sure
  std::vector<write_op> unsynced;  // writes since the last sync, oldest first
  std::uint64_t writes = 0;        // ids handed out

  void write(std::uint64_t off, wire::bytes_view b) {
    if (data.size() < off + b.size()) data.resize(off + b.size(), 0);
    std::copy(b.begin(), b.end(), data.begin() + static_cast<std::ptrdiff_t>(off));
    unsynced.push_back({++writes, off, wire::bytes(b.begin(), b.end())});
  }
  void sync() {
    synced = data;
    unsynced.clear();
  }
  // Makes the writes up to id `upto` durable (those made before a sync call began).
  void sync_through(std::uint64_t upto) {
    std::size_t n = 0;
    for (; n < unsynced.size() && unsynced[n].id <= upto; ++n) {
      const write_op& w = unsynced[n];
      if (synced.size() < w.offset + w.bytes.size()) synced.resize(w.offset + w.bytes.size(), 0);
      std::copy(w.bytes.begin(), w.bytes.end(),
                synced.begin() + static_cast<std::ptrdiff_t>(w.offset));
    }
    unsynced.erase(unsynced.begin(), unsynced.begin() + static_cast<std::ptrdiff_t>(n));
  }
};

namespace {

std::string parent(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string trim(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

os::status err(int e, const std::string& what) { return os::status::from_errno(e, what); }

}  // namespace

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
