// inherited_sockets: BROOD_INHERITED_SOCKETS parsed once, its sockets taken by address.
#include "brood/os/inherited_sockets.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string>

#include "brood/os/log.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::os {
namespace {

// The fd number `token` names; nullopt for anything but a non-negative decimal.
std::optional<int> fd_number(std::string_view token) {
  int fd = -1;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), fd);
  if (ec != std::errc() || end != token.data() + token.size() || fd < 0) return std::nullopt;
  return fd;
}

}  // namespace

inherited_sockets inherited_sockets::parse(std::string_view value) {
  inherited_sockets out;
  while (!value.empty()) {
    const auto comma = value.find(',');
    const std::string_view token = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    if (token.empty()) continue;
    const std::optional<int> fd = fd_number(token);
    if (!fd) {
      log(inherited_sockets_variable, ": \"", token, "\" is not an fd number: ignored");
      continue;
    }
    if (::fcntl(*fd, F_GETFD) < 0) {
      log("inherited fd ", *fd, ": not open: ignored");
      continue;
    }
    ::fcntl(*fd, F_SETFD, FD_CLOEXEC);
    auto adopted = adopt_socket(unique_fd(*fd));  // closes the fd when it fails
    if (!adopted) {
      log("inherited ", adopted.error().message(), ": closed");
      continue;
    }
    out.sockets_.push_back(std::move(*adopted));
  }
  return out;
}

inherited_sockets& inherited_sockets::of_process() {
  static inherited_sockets process = [] {
    const char* value = std::getenv(inherited_sockets_variable);
    if (value == nullptr) return inherited_sockets();
    const std::string text(value);
    ::unsetenv(inherited_sockets_variable);
    return parse(text);
  }();
  return process;
}

std::optional<bound_socket> inherited_sockets::take(const address& addr) {
  for (auto it = sockets_.begin(); it != sockets_.end(); ++it) {
    if (!names_socket(addr, *it)) continue;
    bound_socket found = std::move(*it);
    sockets_.erase(it);
    return found;
  }
  return std::nullopt;
}

void inherited_sockets::close_leftovers() {
  for (bound_socket& s : sockets_)
    log("inherited socket ", s.name, " (fd ", s.fd.get(), ") is not configured any more: closed");
  sockets_.clear();
}

}  // namespace brood::os
