// posix_log_env(): the task log's filesystem calls on the real filesystem.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "brood/os/unique_fd.hpp"
#include "log_env.hpp"

namespace brood::spooler {
namespace {

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string parent(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

os::status fail(std::string_view step, const std::string& path) {
  return os::status::last_errno(std::string("cannot ").append(step).append(" ").append(path));
}

os::status write_all(int fd, std::uint64_t offset, wire::bytes_view data, const std::string& p) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write", p);
    if (n == 0) return os::status::from_errno(EIO, "cannot write " + p);
    done += static_cast<std::size_t>(n);
  }
  return {};
}

class posix_file final : public log_file {
 public:
  posix_file(os::unique_fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  os::status pwrite(std::uint64_t offset, wire::bytes_view data) override {
    return write_all(fd_.get(), offset, data, path_);
  }
  os::status pread(std::uint64_t offset, std::size_t n, wire::bytes& out) override {
    out.resize(n);
    std::size_t done = 0;
    while (done < n) {
      const ssize_t r =
          ::pread(fd_.get(), out.data() + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return fail("read", path_);
      if (r == 0) break;
      done += static_cast<std::size_t>(r);
    }
    out.resize(done);
    return {};
  }
  os::status datasync() override {
    return ::fdatasync(fd_.get()) == 0 ? os::status{} : fail("fdatasync", path_);
  }
  std::uint64_t size() override {
    struct stat st {};
    return ::fstat(fd_.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }

 private:
  os::unique_fd fd_;
  std::string path_;
};

class posix_lock final : public log_lock {
 public:
  explicit posix_lock(os::unique_fd fd) : fd_(std::move(fd)) {}

 private:
  os::unique_fd fd_;  // closing the last fd of the open file description drops the OFD lock
};

os::status sync_path(const std::string& path, int flags, std::string_view step) {
  os::unique_fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd) return fail("open", path);
  return ::fsync(fd.get()) == 0 ? os::status{} : fail(step, path);
}

class posix_env final : public log_env {
 public:
  os::status create_file(const std::string& path, std::uint64_t size) override {
    os::unique_fd fd(::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600));
    if (!fd) return fail("create", path);
    const int err = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(size));
    if (err != 0) {
      ::unlink(path.c_str());
      return os::status::from_errno(err, "cannot allocate " + path);
    }
    // fallocate leaves unwritten extents: write the zeros so that later pwrites are overwrites.
    const wire::bytes zeros(64 * 1024, 0);
    for (std::uint64_t off = 0; off < size; off += zeros.size()) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), size - off));
      if (auto s = write_all(fd.get(), off, wire::bytes_view(zeros).first(n), path); !s.ok()) {
        ::unlink(path.c_str());
        return s;
      }
    }
    if (::fsync(fd.get()) != 0) return fail("fsync", path);
    return sync_dir(parent(path));
  }
  os::result<std::unique_ptr<log_file>> open_file(const std::string& path) override {
    os::unique_fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) return fail("open", path);
    return std::unique_ptr<log_file>(new posix_file(std::move(fd), path));
  }
  os::status write_file(const std::string& dir, const std::string& temp_name,
                        const std::string& final_name, wire::bytes_view data) override {
    const std::string temp = join(dir, temp_name);
    const std::string final_path = join(dir, final_name);
    os::unique_fd fd(::open(temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600));
    if (!fd) return fail("create", temp);
    os::status s = write_all(fd.get(), 0, data, temp);
    if (s.ok() && ::close(fd.release()) != 0 && errno != EINTR) s = fail("close", temp);
    if (s.ok() && ::rename(temp.c_str(), final_path.c_str()) != 0) {
      s = fail("rename", temp + " to " + final_path);
    }
    if (!s.ok()) ::unlink(temp.c_str());
    return s;
  }
  os::status reuse_file(const std::string& reuse, const std::string& dir,
                        const std::string& temp_name, const std::string& final_name,
                        wire::bytes_view data) override {
    const std::string temp = join(dir, temp_name);
    const std::string final_path = join(dir, final_name);
    if (::rename(reuse.c_str(), temp.c_str()) != 0) return fail("take", reuse);
    os::unique_fd fd(::open(temp.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (fd && (::fstat(fd.get(), &st) != 0 || st.st_nlink != 1)) {
      ::unlink(temp.c_str());  // another name links it (brought back by a crash): not ours
      return os::status::from_errno(ENOENT, reuse + " has another link: not reused");
    }
    os::status s = fd ? write_all(fd.get(), 0, data, temp) : fail("open", temp);
    // Only a longer old content needs cutting (tasks of one kind are often of one size).
    if (s.ok() && static_cast<std::uint64_t>(st.st_size) > data.size() &&
        ::ftruncate(fd.get(), static_cast<off_t>(data.size())) != 0)
      s = fail("truncate", temp);
    if (s.ok() && ::close(fd.release()) != 0 && errno != EINTR) s = fail("close", temp);
    if (s.ok() && ::rename(temp.c_str(), final_path.c_str()) != 0) {
      s = fail("rename", temp + " to " + final_path);
    }
    if (!s.ok()) ::unlink(temp.c_str());
    // A failure after the take is not ENOENT for the caller: the pooled file was used up.
    if (!s.ok() && s.code().value() == ENOENT) return os::status::from_errno(EIO, s.message());
    return s;
  }
  os::status read_file(const std::string& path, wire::bytes& out) override {
    os::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail("open", path);
    posix_file f(std::move(fd), path);
    return f.pread(0, static_cast<std::size_t>(f.size()), out);
  }
  bool exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  os::status remove_file(const std::string& path) override {
    return ::unlink(path.c_str()) == 0 ? os::status{} : fail("remove", path);
  }
  os::result<std::vector<std::string>> list_dir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return fail("open directory", dir);
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
      const std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    return names;
  }
  os::status make_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0750) == 0) return sync_dir(parent(path));
    struct stat st {};
    if (errno == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
    return fail("create directory", path);
  }
  os::status sync_file(const std::string& path) override {
    return sync_path(path, O_RDONLY, "fsync");
  }
  os::status sync_dir(const std::string& dir) override {
    return sync_path(dir, O_RDONLY | O_DIRECTORY, "fsync directory");
  }
  os::status sync_fs(const std::string& dir) override {
    os::unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail("open directory", dir);
    return ::syncfs(fd.get()) == 0 ? os::status{} : fail("syncfs", dir);
  }
  os::result<std::unique_ptr<log_lock>> try_lock(const std::string& path) override {
    os::unique_fd fd(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
    if (!fd) return fail("open", path);
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd.get(), F_OFD_SETLK, &fl) != 0) {
      const int err = (errno == EACCES || errno == EAGAIN) ? EWOULDBLOCK : errno;
      return os::status::from_errno(err, "cannot lock " + path);
    }
    return std::unique_ptr<log_lock>(new posix_lock(std::move(fd)));
  }
};

}  // namespace

log_env& posix_log_env() {
  static posix_env env;
  return env;
}

}  // namespace brood::spooler
