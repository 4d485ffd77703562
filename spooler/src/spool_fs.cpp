#include "spool_fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "brood/os/unique_fd.hpp"

namespace brood::spooler::spool_fs {
namespace {

constexpr mode_t spool_dir_mode = 0750;
constexpr mode_t spool_file_mode = 0600;

// write(2) until all of `data` is written; false with errno set on failure.
bool write_all(int fd, wire::bytes_view data) noexcept {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {  // cannot happen for a regular file; do not spin
      errno = EIO;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Fills, stamps, syncs and closes the temp file `fd`. Does not remove it.
fs_status fill_temp(os::unique_fd fd, const std::string& path, const struct timespec* times,
                    wire::bytes_view data) {
  if (!write_all(fd.get(), data)) return failure(errno, "write", path);
  if (times && ::futimens(fd.get(), times) != 0) return failure(errno, "set the times of", path);
  if (::fsync(fd.get()) != 0) return failure(errno, "fsync", path);
  if (::close(fd.release()) != 0 && errno != EINTR) return failure(errno, "close", path);
  return {};
}

}  // namespace

fs_status failure(int err, std::string_view step, std::string_view path) {
  fs_status s;
  s.err = err;
  s.message.append("cannot ").append(step).append(" ").append(path).append(": ");
  s.message.append(std::strerror(err));
  return s;
}

std::string join(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (p.empty() || p.back() != '/') p.push_back('/');
  return p.append(name);
}

std::string parent_of(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string_view name_of(std::string_view path) noexcept {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

fs_status sync_dir(const std::string& path) {
  os::unique_fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return failure(errno, "open directory", path);
  if (::fsync(fd.get()) != 0) return failure(errno, "fsync directory", path);
  return {};
}

fs_status ensure_dir(const std::string& path) {
  if (::mkdir(path.c_str(), spool_dir_mode) != 0) {
    const int err = errno;  // an existing dir may also give EROFS or EACCES: it is fine
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
    return failure(err == EEXIST ? ENOTDIR : err, "create directory", path);
  }
  return sync_dir(parent_of(path).empty() ? "." : parent_of(path));
}

fs_status durable_write(const durable_file& f, wire::bytes_view data) {
  const std::string temp = join(f.dir, f.temp_name);
  os::unique_fd fd(::open(temp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, spool_file_mode));
  if (!fd) return failure(errno, "create", temp);
  fs_status s = fill_temp(std::move(fd), temp, f.times, data);
  const std::string final_path = join(f.dir, f.final_name);
  if (s && ::rename(temp.c_str(), final_path.c_str()) != 0) {
    s = failure(errno, "rename", temp + " to " + final_path);
  }
  if (!s) {
    ::unlink(temp.c_str());
    return s;
  }
  s = sync_dir(f.dir);
  if (!s && f.remove_on_sync_failure) {
    ::unlink(final_path.c_str());
    (void)sync_dir(f.dir);  // best effort: the failure reported is the first one
  }
  return s;
}

fs_status durable_move(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return failure(errno, "rename", from + " to " + to);
  const std::string to_dir = parent_of(to);
  const std::string from_dir = parent_of(from);
  if (fs_status s = sync_dir(to_dir.empty() ? "." : to_dir); !s) return s;
  if (from_dir != to_dir) return sync_dir(from_dir.empty() ? "." : from_dir);
  return {};
}

}  // namespace brood::spooler::spool_fs
