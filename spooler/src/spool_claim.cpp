#include "spool_claim.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "brood/wire/spool_file.hpp"

namespace brood::spooler {
namespace {

using namespace std::chrono_literals;
using time_point = std::chrono::system_clock::time_point;

// A short file younger than this may still be being written (by a uWSGI writer that has not
// taken its lock yet): it is left alone rather than quarantined.
constexpr auto torn_grace = 10s;

time_point to_time_point(const timespec& ts) {
  return time_point(std::chrono::duration_cast<time_point::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

std::string os_error(const char* what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

// The non-blocking OFD write lock on the whole file. false: held elsewhere (errno EAGAIN or
// EACCES) or an error.
bool lock_whole_file(int fd) {
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  return ::fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

// Reads the file to its end, or until it holds `size` bytes (its size at the claim's fstat: no
// writer changes it under the lock, so the read that would find the end is saved).
bool read_all(int fd, std::string& out, std::size_t size) {
  char buf[65536];
  while (out.size() < size || size == 0) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

unsigned parse_attempt(std::string_view text) {
  unsigned n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n == 0) return 1;
  return n;
}

// Decodes `bytes` into c.task, or sets c.status to corrupt / not_due (young torn file).
void decode_into(spool_claim& c, const std::string& bytes, const struct stat& st, time_point now) {
  wire::spool_file_view view;
  const auto r = wire::decode_spool_file(wire::as_bytes(bytes), view);
  if (!r.is_done()) {
    const time_point changed = to_time_point(st.st_ctim);
    if (r.error == wire::errc::spool_truncated && now < changed + torn_grace) {
      c.status = claim_status::not_due;
      c.due = changed + torn_grace;
      c.torn = true;
      return;
    }
    c.status = claim_status::corrupt;
    c.why = r.why.empty() ? r.error.message() : r.why;
    return;
  }
  for (const wire::var& v : view.vars) {
    c.task.vars.emplace_back(std::string(v.key), std::string(v.value));
    if (v.key == spool_key_attempt) c.task.attempt = parse_attempt(v.value);
  }
  c.task.body.assign(wire::as_chars(view.body));
  c.status = claim_status::claimed;
}

}  // namespace

time_point mtime_of(const struct stat& st) noexcept { return to_time_point(st.st_mtim); }

spool_claim claim_spool_file(const std::string& path, const std::string& dir, time_point now) {
  spool_claim c;
  c.task.path = path;
  c.task.name = path.substr(path.rfind('/') + 1);
  c.task.dir = dir;
  // O_NOATIME: reading a task must not dirty its inode (one journal write fewer per task); only
  // the file's owner may ask for it, anyone else opens it plainly.
  constexpr int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  c.fd.reset(::open(path.c_str(), flags | O_NOATIME));
  if (!c.fd && errno == EPERM) c.fd.reset(::open(path.c_str(), flags));
  if (!c.fd) {
    if (errno == ENOENT || errno == ELOOP) return c;  // gone
    c.status = claim_status::failed;
    c.why = os_error("cannot open", path);
    return c;
  }
  if (!lock_whole_file(c.fd.get())) {
    c.status = (errno == EAGAIN || errno == EACCES) ? claim_status::busy : claim_status::failed;
    c.why = os_error("cannot lock", path);
    c.fd.reset();
    return c;
  }
  // Unlinked (done by another process) or replaced (rewritten by a retry) since we opened it:
  // the lock is on a stale inode.
  struct stat held = {}, named = {};
  if (::fstat(c.fd.get(), &held) != 0 || ::stat(path.c_str(), &named) != 0 || held.st_nlink == 0 ||
      held.st_ino != named.st_ino || held.st_dev != named.st_dev || !S_ISREG(held.st_mode)) {
    c.fd.reset();
    return c;  // gone
  }
  c.mtime = mtime_of(held);
  c.dated_ahead = c.mtime > to_time_point(held.st_ctim);
  if (c.mtime > now) {
    c.status = claim_status::not_due;
    c.due = c.mtime;
    c.fd.reset();
    return c;
  }
  std::string bytes;
  if (!read_all(c.fd.get(), bytes, static_cast<std::size_t>(held.st_size))) {
    c.status = claim_status::failed;
    c.why = os_error("cannot read", path);
    c.fd.reset();
    return c;
  }
  decode_into(c, bytes, held, now);
  if (c.status == claim_status::not_due) c.fd.reset();
  return c;
}

}  // namespace brood::spooler
