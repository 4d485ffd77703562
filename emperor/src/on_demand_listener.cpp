// The os_launcher's on-demand sockets: a listening fd watched on the event_loop while armed.
#include <sys/stat.h>
#include <unistd.h>

#include "os_vassal_process.hpp"

namespace brood::emperor {

on_demand_listener::on_demand_listener(os::event_loop& loop, launcher_events& events,
                                       std::string name, std::string address, std::string unix_path,
                                       os::unique_fd fd)
    : loop_(loop),
      events_(events),
      name_(std::move(name)),
      address_(std::move(address)),
      unix_path_(std::move(unix_path)),
      fd_(std::move(fd)) {
  struct stat st {};
  if (!unix_path_.empty() && ::stat(unix_path_.c_str(), &st) == 0) {
    unix_dev_ = st.st_dev;
    unix_ino_ = st.st_ino;
  }
}

on_demand_listener::~on_demand_listener() {
  arm(false);
  fd_.reset();
  struct stat st {};
  if (!unix_path_.empty() && ::stat(unix_path_.c_str(), &st) == 0 && st.st_dev == unix_dev_ &&
      st.st_ino == unix_ino_)
    ::unlink(unix_path_.c_str());
}

void on_demand_listener::arm(bool armed) noexcept {
  if (armed == armed_) return;
  armed_ = armed;
  if (!armed) {
    loop_.unwatch(fd_.get());
    return;
  }
  // Captures copies: the core may destroy this socket from inside the callback.
  loop_.watch(fd_.get(), [events = &events_, name = name_] { events->on_demand_connection(name); });
}

}  // namespace brood::emperor
