#include "emperor_link.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "brood/os/log.hpp"

namespace brood::node {
namespace {

// The fd number in `text`, or -1 when it is not a plain non-negative decimal number.
int parse_fd(const char* text) {
  if (!text || !*text) return -1;
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(text, &end, 10);
  if (errno || *end != '\0' || n < 0 || n > 1 << 30) return -1;
  return static_cast<int>(n);
}

}  // namespace

emperor_link::emperor_link(os::unique_fd fd) {
  const int flags = fd.get() >= 0 ? ::fcntl(fd.get(), F_GETFL) : -1;
  if (flags < 0 || ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC) != 0 ||
      ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    os::log("cannot use the emperor channel fd ", fd.get(), ": ", std::strerror(errno));
    return;
  }
  auto loyal = os::shared_array<std::atomic<bool>>::open(1, "the emperor loyal flag");
  if (!loyal) {
    os::log(loyal.error().message());
    return;
  }
  loyal_sent_ = std::move(*loyal);
  fd_ = std::move(fd);
}

emperor_link emperor_link::from_environment() {
  const char* text = std::getenv(wire::emperor_fd_env);
  if (!text) return {};
  const std::string value = text;
  ::unsetenv(wire::emperor_fd_env);
  const int fd = parse_fd(value.c_str());
  if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
    os::log("invalid ", wire::emperor_fd_env, "=\"", value,
            "\" (not an open fd): not running as a vassal");
    return {};
  }
  os::log("running as a vassal: emperor channel on fd ", fd);
  return emperor_link(os::unique_fd(fd));
}

void emperor_link::send(wire::vassal_message m) const noexcept {
  if (!active()) return;
  const std::uint8_t byte = to_byte(m);
  ssize_t n = ::send(fd_.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0 && errno == ENOTSOCK) n = ::write(fd_.get(), &byte, 1);  // a pipe, not a socketpair
  if (n != 1)
    os::log("cannot send byte ", static_cast<int>(byte),
            " to the emperor: ", n < 0 ? std::strerror(errno) : "nothing written");
}

void emperor_link::send_loyal_once() const noexcept {
  if (!active() || loyal_sent_[0].exchange(true)) return;
  send(wire::vassal_message::loyal);
}

emperor_link::received emperor_link::receive() noexcept {
  received out;
  if (!active()) return out;
  std::uint8_t buf[64];
  const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
  if (n > 0) {
    for (ssize_t i = 0; i < n; ++i)
      out.commands.push_back(static_cast<wire::emperor_command>(buf[i]));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    out.lost = true;
  }
  return out;
}

}  // namespace brood::node
