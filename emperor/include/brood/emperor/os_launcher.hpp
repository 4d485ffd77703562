#pragma once
// The real process_launcher: fork + exec with a socketpair channel, and on-demand sockets, their
// fds watched on the emperor's event_loop.
#include <chrono>
#include <memory>
#include <string>

#include "brood/emperor/launcher.hpp"
#include "brood/os/event_loop.hpp"

namespace brood::emperor {

class os_launcher final : public process_launcher {
 public:
  // `loop` and `events` must outlive the launcher and every handle it returns. `backlog`: the
  // listen(2) queue of on-demand sockets (emperor_config::listen_queue).
  os_launcher(os::event_loop& loop, launcher_events& events, int backlog = 100);

  std::unique_ptr<vassal_process> launch(const launch_spec& spec, std::error_code& ec) override;
  // The fork-server client (fork_client.hpp); waits at most `fork_timeout` for the connection
  // and again for the reply. The process is signalled through a pidfd.
  adopt_result adopt(const launch_spec& spec, const std::string& fork_server,
                     std::span<const int> inherited) override;
  void set_fork_timeout(std::chrono::milliseconds t) noexcept { fork_timeout_ = t; }
  std::unique_ptr<on_demand_socket> listen(const std::string& name, const std::string& address,
                                           std::error_code& ec) override;

 private:
  os::event_loop& loop_;
  launcher_events& events_;
  int backlog_;
  std::chrono::milliseconds fork_timeout_{3000};
};

}  // namespace brood::emperor
