#include "brood/os/status.hpp"

#include <cerrno>
#include <cstring>

namespace brood::os {

status status::from_errno(int err, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += std::strerror(err);
  return status({err, std::system_category()}, std::move(message));
}

status status::last_errno(std::string_view what) { return from_errno(errno, what); }

status status::context(std::string_view what) const {
  if (ok()) return *this;
  std::string message(what);
  message += ": ";
  message += message_;
  return status(code_, std::move(message));
}

}  // namespace brood::os
