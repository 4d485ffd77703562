#pragma once
// What an adopted vassal of the fork-server tests reports: right after serve_fork_server returns
// in the grandchild, fork_server_test::base_body writes these facts as "key=value" lines on the
// fd named by UWSGI_EMPEROR_FD (so reading them proves the variable names the channel the test
// passed) and _exit(0)s. The test reads them until EOF with parse_facts.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "brood/os/listener.hpp"

namespace brood::node::test {

// Hook calls counted in the base (copied into the vassal by the fork).
struct hook_counts {
  int before_fork = 0;
  int after_fork_parent = 0;
  int after_fork_child = 0;
  int spare_warm_up = 0;
};

// The TCP port `fd` is bound to; -1 when it is not an IPv4 socket.
inline int tcp_port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || a.sin_family != AF_INET)
    return -1;
  return ntohs(a.sin_port);
}

// The unix path `fd` is bound to; "" for anything else.
inline std::string unix_path_of(int fd) {
  sockaddr_un a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || a.sun_family != AF_UNIX)
    return {};
  return a.sun_path;
}

inline std::string env_or_unset(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "<unset>";
}

// "port,port": the listening sockets among the comma-separated fds of `list`.
inline std::string listening_ports(const std::string& list) {
  std::string out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    const int fd = std::atoi(item.c_str());
    if (!os::is_listening_socket(fd)) continue;
    if (!out.empty()) out += ',';
    out += std::to_string(tcp_port_of(fd));
  }
  return out;
}

// Open fds of kinds the fork server must not leave behind.
inline void report_open_fds(std::ostringstream& o, const std::string& fork_path) {
  int fork_socket = 0, signalfd = 0, seqpacket = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::atoi(e.path().filename().c_str());
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(e.path(), ec).string();
    if (target.find("signalfd") != std::string::npos) ++signalfd;
    if (target.rfind("socket:", 0) == 0 && unix_path_of(fd) == fork_path) ++fork_socket;
    int type = 0;
    socklen_t len = sizeof type;
    if (target.rfind("socket:", 0) == 0 &&
        ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET)
      ++seqpacket;  // a warm spare's link
  }
  o << "fork_socket_open=" << fork_socket << "\nsignalfd_open=" << signalfd
    << "\nseqpacket_open=" << seqpacket << "\n";
}

inline void report_signals(std::ostringstream& o) {
  sigset_t mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &mask);
  int blocked = 0;
  for (int s = 1; s < NSIG; ++s) blocked += sigismember(&mask, s) == 1;
  struct sigaction usr1 {
  }, usr2{}, chld{};
  ::sigaction(SIGUSR1, nullptr, &usr1);
  ::sigaction(SIGUSR2, nullptr, &usr2);
  ::sigaction(SIGCHLD, nullptr, &chld);
  int pdeathsig = 0;
  ::prctl(PR_GET_PDEATHSIG, &pdeathsig);
  o << "blocked_signals=" << blocked << "\nsigusr1_ignored=" << (usr1.sa_handler == SIG_IGN)
    << "\nsigusr2_default=" << (usr2.sa_handler == SIG_DFL)
    << "\nsigchld_default=" << (chld.sa_handler == SIG_DFL) << "\npdeathsig=" << pdeathsig << "\n";
}

// The facts, written on the channel, which is then closed. Returns false if it cannot be.
inline bool report_facts(const std::vector<std::string>& argv, const hook_counts& hooks,
                         const std::string& fork_path) {
  std::ostringstream o;
  o << "pid=" << ::getpid() << "\nppid=" << ::getppid() << "\nargv=";
  for (std::size_t i = 0; i < argv.size(); ++i) o << (i ? "|" : "") << argv[i];
  o << "\n";
  for (const char* name : {"UWSGI_EMPEROR_FD", "UWSGI_EMPEROR_FD_CONFIG", "BROOD_INHERITED_SOCKETS",
                           "UWSGI_RELOADS", "NOTIFY_SOCKET", "FS_SET", "FS_UNSET", "FS_KEEP"})
    o << name << "=" << env_or_unset(name) << "\n";
  const int channel = std::atoi(env_or_unset("UWSGI_EMPEROR_FD").c_str());
  o << "channel_cloexec=" << ((::fcntl(channel, F_GETFD) & FD_CLOEXEC) != 0) << "\n";
  o << "fd0_listening=" << os::is_listening_socket(0) << "\nfd0_port=" << tcp_port_of(0) << "\n";
  o << "inherited_ports=" << listening_ports(env_or_unset("BROOD_INHERITED_SOCKETS")) << "\n";
  if (const char* config = std::getenv("UWSGI_EMPEROR_FD_CONFIG")) {
    char buf[256];
    const ssize_t n = ::read(std::atoi(config), buf, sizeof buf);
    o << "config=" << std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0) << "\n";
  }
  report_open_fds(o, fork_path);
  report_signals(o);
  o << "before_fork=" << hooks.before_fork << "\nafter_fork_parent=" << hooks.after_fork_parent
    << "\nafter_fork_child=" << hooks.after_fork_child << "\nspare_warm_up=" << hooks.spare_warm_up
    << "\n";
  const std::string text = o.str();
  const bool ok = ::write(channel, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(channel);
  return ok;
}

// "key=value" lines.
inline std::map<std::string, std::string> parse_facts(const std::string& text) {
  std::map<std::string, std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

}  // namespace brood::node::test
