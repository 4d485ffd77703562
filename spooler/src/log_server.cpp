// log_server / log_client: the node's shared task log over an abstract unix socket.
#include "log_server.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <thread>

#include "brood/os/log.hpp"
#include "brood/os/unique_fd.hpp"
#include "task_log.hpp"

namespace brood::spooler {
namespace {

constexpr std::uint8_t op_task = 1;
constexpr std::uint32_t max_request = (1u << 30) + 65536;  // spooler-log-size's maximum, a bit more

void put_le(wire::bytes& out, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<wire::byte>(v >> (8 * i)));
}
std::uint64_t get_le(const wire::byte* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}

bool write_all(int fd, const wire::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// False at EOF, error or timeout (errno says which; 0 at EOF).
bool read_all(int fd, wire::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) errno = 0;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

sockaddr_un address_of(const std::string& name, socklen_t& len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  a.sun_path[0] = '\0';
  std::memcpy(a.sun_path + 1, name.data(), std::min(name.size(), sizeof a.sun_path - 1));
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return a;
}

std::atomic<int> servers_started{0};

}  // namespace

struct log_server::state {
  std::string name;  // the socket's, for log lines
  log_source logs;
  on_commit committed;
  os::unique_fd listener;
  std::mutex mu;
  std::condition_variable cv;
  std::set<int> conns;  // open connection fds (shut down at stop)
  int threads = 0;      // acceptor + connection threads still running
  bool stopping = false;

  void serve(int fd);
  bool answer(int fd, const wire::bytes& req);
  void finished() {
    std::lock_guard lock(mu);
    --threads;
    cv.notify_all();
  }
};

os::result<std::unique_ptr<log_server>> log_server::start(log_source logs, on_commit committed) {
  std::unique_ptr<log_server> srv(new log_server);
  srv->owner_ = ::getpid();
  srv->name_ = "brood-tasklog-" + std::to_string(srv->owner_) + "-" +
               std::to_string(servers_started.fetch_add(1));
  auto st = std::make_shared<state>();
  st->name = srv->name_;
  st->logs = std::move(logs);
  st->committed = std::move(committed);
  st->listener = os::unique_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!st->listener) return os::status::last_errno("cannot open the task log socket");
  socklen_t len = 0;
  const sockaddr_un a = address_of(srv->name_, len);
  if (::bind(st->listener.get(), reinterpret_cast<const sockaddr*>(&a), len) != 0 ||
      ::listen(st->listener.get(), 128) != 0) {
    return os::status::last_errno("cannot listen on the task log socket @" + srv->name_);
  }
  st->threads = 1;
  std::thread([st] {
    for (;;) {
      const int fd = ::accept4(st->listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
      std::unique_lock lock(st->mu);
      if (fd < 0 || st->stopping) {
        if (fd >= 0) ::close(fd);
        if (!st->stopping) os::log("task log socket: accept failed: ", std::strerror(errno));
        --st->threads;
        st->cv.notify_all();
        return;
      }
      st->conns.insert(fd);
      ++st->threads;
      lock.unlock();
      std::thread([st, fd] { st->serve(fd); }).detach();
    }
  }).detach();
  srv->st_ = std::move(st);
  return srv;
}

namespace {

// A client's process may die while another process forked from the server's holds a copy of
// this end of the connection (no EOF then): the client's pid (SO_PEERCRED) is checked every
// 5 s while the connection is idle.
bool peer_alive(pid_t pid) { return pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH; }

bool wait_readable(int fd, pid_t peer) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, 5000);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
    if (n == 0 && !peer_alive(peer)) return false;
  }
}

}  // namespace

void log_server::state::serve(int fd) {
  ucred cred{};
  socklen_t clen = sizeof cred;
  const bool have_cred = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0;
  const pid_t peer = have_cred ? cred.pid : 0;
  // An abstract socket has no file permissions: only this node's own user may append records
  // (the same user may write the spool dir itself anyway).
  const bool trusted = have_cred && cred.uid == ::geteuid();
  if (!trusted)
    os::log("task log socket @", name, ": refused a connection from pid ", cred.pid, " uid ",
            cred.uid, " (only uid ", ::geteuid(), " may send tasks)");
  wire::bytes req;
  while (trusted) {
    wire::byte head[4];
    if (!wait_readable(fd, peer) || !read_all(fd, head, 4)) break;
    const auto n = static_cast<std::uint32_t>(get_le(head, 4));
    if (n < 5 || n > max_request) break;
    req.resize(n);
    if (!read_all(fd, req.data(), n) || !answer(fd, req)) break;
  }
  {
    std::lock_guard lock(mu);
    conns.erase(fd);
  }
  ::close(fd);
  finished();
}

bool log_server::state::answer(int fd, const wire::bytes& req) {
  const std::size_t dir = get_le(req.data() + 1, 2);
  const std::size_t plen = get_le(req.data() + 3, 2);
  wire::bytes out;
  os::result<std::uint64_t> seq = std::uint64_t{0};
  task_log* log = nullptr;
  if (req[0] != op_task || 5 + plen > req.size()) {
    seq = os::status::from_errno(EPROTO, "malformed task log request");
  } else if (!(log = logs(dir))) {
    seq = os::status::from_errno(ENOENT, "no task log for spooler dir " + std::to_string(dir));
  } else {
    const std::string path(reinterpret_cast<const char*>(req.data() + 5), plen);
    seq = log->commit_task(path, wire::bytes_view(req).subspan(5 + plen));
    if (seq && committed) committed(dir, *log);
  }
  if (seq) {
    out.push_back(0);
    put_le(out, *seq, 8);
  } else {
    const std::string& m = seq.error().message();
    out.push_back(1);
    put_le(out, static_cast<std::uint32_t>(seq.error().code().value()), 4);
    const std::size_t mlen = std::min<std::size_t>(m.size(), 0xffff);
    put_le(out, mlen, 2);
    out.insert(out.end(), m.begin(), m.begin() + static_cast<std::ptrdiff_t>(mlen));
  }
  return write_all(fd, out.data(), out.size());
}

log_server::~log_server() {
  if (!st_) return;
  std::unique_lock lock(st_->mu);
  st_->stopping = true;
  ::shutdown(st_->listener.get(), SHUT_RDWR);  // wakes the acceptor
  for (const int fd : st_->conns) ::shutdown(fd, SHUT_RDWR);
  if (!st_->cv.wait_for(lock, std::chrono::seconds(5), [&] { return st_->threads == 0; })) {
    os::log("task log socket @", name_, ": ", st_->threads, " thread(s) did not stop in 5 s");
  }
}

void log_server::drop_in_child() {
  if (!st_) return;
  // The threads do not exist here; their mutex may have been held at the fork (and `conns` be
  // mid-change): neither is touched. The copies of the connections stay open (see serve()).
  ::close(st_->listener.release());
  std::shared_ptr<state> leaked = std::move(st_);
  new std::shared_ptr<state>(std::move(leaked));  // never destroyed: it may hold a locked mutex
}

namespace log_client {
namespace {

// This thread's connections, by server name (reopened after a fork: the pid differs).
struct connection {
  pid_t pid = 0;
  os::unique_fd fd;
};
thread_local std::map<std::string, connection> connections;

os::unique_fd connect_to(const std::string& server) {
  os::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  socklen_t len = 0;
  const sockaddr_un a = address_of(server, len);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), len) != 0) return {};
  const timeval tv{30, 0};
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

}  // namespace

outcome commit(const std::string& server, std::size_t dir, const std::string& rel_path,
               wire::bytes_view file, const std::function<os::status()>& write_file) {
  outcome out;
  wire::bytes req;
  req.reserve(9 + rel_path.size() + file.size());
  put_le(req, 5 + rel_path.size() + file.size(), 4);
  req.push_back(op_task);
  put_le(req, dir, 2);
  put_le(req, rel_path.size(), 2);
  req.insert(req.end(), rel_path.begin(), rel_path.end());
  req.insert(req.end(), file.begin(), file.end());

  connection& c = connections[server];
  if (c.pid != ::getpid()) {
    (void)c.fd.release();  // the parent's (still open there)
    c.pid = ::getpid();
  }
  bool sent = c.fd && write_all(c.fd.get(), req.data(), req.size());
  if (!sent) {  // a kept connection may have been closed by the server: one new one
    c.fd = connect_to(server);
    sent = c.fd && write_all(c.fd.get(), req.data(), req.size());
    if (!sent) {
      c.fd = {};
      out.unreachable = true;
      return out;
    }
  }
  const os::status written = write_file();
  wire::byte head[9];
  if (!read_all(c.fd.get(), head, 1) ||
      (head[0] == 0 ? !read_all(c.fd.get(), head + 1, 8) : !read_all(c.fd.get(), head + 1, 6))) {
    const int err = errno;
    c.fd = {};
    out.seq = os::status::from_errno(err ? err : EPIPE,
                                     "no answer from the node's task log (@" + server + ")");
    return out;
  }
  if (head[0] == 0) {
    out.seq = get_le(head + 1, 8);
  } else {
    const int err = static_cast<int>(get_le(head + 1, 4));
    std::string msg(get_le(head + 5, 2), '\0');
    if (!read_all(c.fd.get(), reinterpret_cast<wire::byte*>(msg.data()), msg.size())) c.fd = {};
    out.seq = os::status(std::error_code(err ? err : EIO, std::system_category()), msg);
  }
  if (!written.ok()) out.seq = written;
  return out;
}

}  // namespace log_client
}  // namespace brood::spooler
