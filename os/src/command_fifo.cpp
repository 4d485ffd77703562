// command_fifo: mkfifo (or reuse), open non-blocking, read what is pending.
#include "brood/os/command_fifo.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace brood::os {
namespace {

status not_a_fifo(const std::string& path) {
  return status(std::make_error_code(std::errc::file_exists),
                "cannot open FIFO " + path + ": it exists and is not a FIFO");
}

}  // namespace

result<command_fifo> command_fifo::open(std::string path) {
  if (::mkfifo(path.c_str(), 0600) != 0) {
    if (errno != EEXIST) return status::last_errno("cannot create FIFO " + path);
    struct stat st {};
    // Checked before open(): opening some other kind of file may have effects of its own.
    if (::stat(path.c_str(), &st) == 0 && !S_ISFIFO(st.st_mode)) return not_a_fifo(path);
  }
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return status::last_errno("cannot open FIFO " + path);
  struct stat st {};
  // Checked again on what was opened, in case the path was replaced in between.
  if (::fstat(fd.get(), &st) != 0) return status::last_errno("cannot open FIFO " + path);
  if (!S_ISFIFO(st.st_mode)) return not_a_fifo(path);
  return command_fifo(std::move(fd), std::move(path));
}

command_fifo::read_result command_fifo::read() {
  read_result out;
  if (!fd_) {
    out.eof = true;
    return out;
  }
  char buf[512];
  while (out.bytes.size() < read_limit) {
    const std::size_t want = std::min(sizeof buf, read_limit - out.bytes.size());
    const ssize_t n = ::read(fd_.get(), buf, want);
    if (n > 0) {
      out.bytes.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    out.eof = n == 0;  // else EAGAIN: writers are still there, nothing more for now
    break;
  }
  return out;
}

status command_fifo::reopen(std::string path) {
  fd_.reset();
  path_.clear();
  auto opened = open(std::move(path));
  if (!opened) return opened.error();
  *this = std::move(*opened);
  return {};
}

}  // namespace brood::os
