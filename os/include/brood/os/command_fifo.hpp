#pragma once
// One named FIFO opened for reading: the master FIFO's end (`master-fifo PATH`), where a
// process or `echo r > PATH` writes one-byte commands. The fd is non-blocking, close-on-exec and
// level-triggered readable (poll, event_loop) while bytes are pending or once every writer has
// closed (EOF); after an EOF the reader must reopen() to wait for the next writer.
//
// Unlike uWSGI, which unlinks whatever is at the path before mkfifo, an existing file that is
// not a FIFO is refused (nothing is removed); an existing FIFO is reused as it is (its mode
// included). Nothing is unlinked on destruction either (as uWSGI): the path stays valid for
// writers across a restart of the owner.
//
// Move-only; not thread-safe.
#include <cstddef>
#include <string>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::os {

class command_fifo {
 public:
  struct read_result {
    std::string bytes;  // what was pending, in write order (at most read_limit bytes)
    bool eof = false;   // every writer has closed: reopen() before reading again
  };
  // At most this many bytes are returned by one read(); the rest stays readable.
  static constexpr std::size_t read_limit = 4096;

  // Creates `path` with mkfifo mode 0600 (less the umask) unless a FIFO is already there, and
  // opens it O_RDONLY|O_NONBLOCK|O_CLOEXEC. Errors: "cannot create FIFO PATH: <strerror>",
  // "cannot open FIFO PATH: <strerror>", "cannot open FIFO PATH: it exists and is not a FIFO"
  // (errc::file_exists; the file is left alone).
  static result<command_fifo> open(std::string path);

  // Empty: fd() is -1, read() returns eof.
  command_fifo() = default;

  int fd() const noexcept { return fd_.get(); }
  const std::string& path() const noexcept { return path_; }  // "" when empty
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

  // The bytes pending now; never blocks. eof is also true when no writer has opened the FIFO
  // since it was opened (read(2) gives 0 then too), so call it when the fd is readable.
  read_result read();

  // Closes the current FIFO (if any), then opens `path` as open() does (which may be the same
  // path, e.g. after an EOF). On error the object is left empty and the error is returned.
  status reopen(std::string path);

  // In a child forked from the owner: closes this process's copy of the fd (the FIFO and the
  // parent's fd are untouched). The object is then empty.
  void release_in_child() noexcept { fd_.reset(); }

 private:
  command_fifo(unique_fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  unique_fd fd_;
  std::string path_;
};

}  // namespace brood::os
