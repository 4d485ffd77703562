#pragma once
// etcd_server: a real etcd (Debian etcd-server 3.4, /usr/bin/etcd) of one member for a test, on
// loopback ports picked free, its data in a temp dir; stop() SIGKILLs it (the data stays), start()
// runs it again on the same ports and data; freeze() stops it answering. Skips the test
// (available() false) when etcd is not installed.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "node_process.hpp"
#include "temp_dir.hpp"

namespace brood::testing {

class etcd_server {
 public:
  static constexpr const char* binary = "/usr/bin/etcd";
  static bool available() { return std::filesystem::exists(binary); }

  etcd_server() : dir_("brood_etcd_"), client_port_(free_port()), peer_port_(free_port()) {}

  // Starts etcd and waits until it serves clients; false on timeout (its output is in output()).
  bool start(std::chrono::milliseconds timeout = 20s) {
    proc_ = std::make_unique<node_process>();
    const std::string c = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string p = "http://127.0.0.1:" + std::to_string(peer_port_);
    proc_->exec(binary, {"--name", "t", "--data-dir", dir_ / "data", "--listen-client-urls", c,
                         "--advertise-client-urls", c, "--listen-peer-urls", p,
                         "--initial-advertise-peer-urls", p, "--initial-cluster", "t=" + p});
    return proc_->wait_for("ready to serve client requests", 1, timeout);
  }
  // SIGKILL, reaped.
  void stop() {
    if (proc_) proc_->kill_all();
  }
  // SIGSTOP: etcd accepts connections (the kernel does) and answers nothing, as when cut off;
  // thaw() (SIGCONT) resumes it.
  bool freeze() { return proc_ && ::kill(proc_->pid(), SIGSTOP) == 0; }
  bool thaw() { return proc_ && ::kill(proc_->pid(), SIGCONT) == 0; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  std::string output() { return proc_ ? proc_->all_output() : std::string(); }

  // A loopback TCP port nothing listens on right now.
  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

 private:
  temp_dir dir_;
  std::uint16_t client_port_;
  std::uint16_t peer_port_;
  std::unique_ptr<node_process> proc_;
};

}  // namespace brood::testing
