// log_server: the node's shared task log over an abstract unix socket: start, the thread's loop
// and rounds, connections (the requests and answers: log_server_io.cpp).
#include "log_server.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "brood/os/log.hpp"
#include "brood/os/unique_fd.hpp"
#include "log_protocol.hpp"
#include "log_server_state.hpp"
#include "task_log.hpp"

namespace brood::spooler {

using namespace log_protocol;

namespace {

std::atomic<int> servers_started{0};

// A client's process may die while another process forked from the server's holds a copy of
// this end of the connection (no EOF then): the client's pid (SO_PEERCRED) is checked every
// 5 s while the server is idle.
bool peer_alive(pid_t pid) { return pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH; }

}  // namespace

os::result<std::unique_ptr<log_server>> log_server::start(log_source logs, on_commit committed) {
  std::unique_ptr<log_server> srv(new log_server);
  srv->owner_ = ::getpid();
  srv->name_ = "brood-tasklog-" + std::to_string(srv->owner_) + "-" +
               std::to_string(servers_started.fetch_add(1));
  auto st = std::make_shared<state>();
  st->name = srv->name_;
  st->logs = std::move(logs);
  st->committed = std::move(committed);
  st->listener = os::unique_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!st->listener) return os::status::last_errno("cannot open the task log socket");
  socklen_t len = 0;
  const sockaddr_un a = address_of(srv->name_, len);
  if (::bind(st->listener.get(), reinterpret_cast<const sockaddr*>(&a), len) != 0 ||
      ::listen(st->listener.get(), 128) != 0) {
    return os::status::last_errno("cannot listen on the task log socket @" + srv->name_);
  }
  st->epoll = os::unique_fd(::epoll_create1(EPOLL_CLOEXEC));
  st->wake = os::unique_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!st->epoll || !st->wake) return os::status::last_errno("cannot poll the task log socket");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = st->listener.get();
  if (::epoll_ctl(st->epoll.get(), EPOLL_CTL_ADD, st->listener.get(), &ev) != 0)
    return os::status::last_errno("cannot poll the task log socket");
  ev.data.fd = st->wake.get();
  if (::epoll_ctl(st->epoll.get(), EPOLL_CTL_ADD, st->wake.get(), &ev) != 0)
    return os::status::last_errno("cannot poll the task log socket");
  st->running = true;
  std::thread([st] {
    st->run();
    std::lock_guard lock(st->mu);
    st->running = false;
    st->cv.notify_all();
  }).detach();
  srv->st_ = std::move(st);
  return srv;
}

void log_server::state::run() {
  epoll_event evs[64];
  for (;;) {
    bool backlog = false;
    for (const auto& [fd, c] : conns) backlog |= c.backlog;
    const int n = ::epoll_wait(epoll.get(), evs, 64, backlog ? 0 : 5000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      os::log("task log socket @", name, ": epoll_wait failed: ", std::strerror(errno));
      break;
    }
    if (n == 0 && !backlog) {
      reap_dead_peers();
      continue;
    }
    bool stop = false;
    round(evs, n, stop);
    if (stop) break;
  }
  for (auto& [fd, c] : conns) {
    ::close(fd);
    for (const int client : c.clients) ::close(client);
  }
  conns.clear();
}

// One round: stage what arrived, one commit per log touched, the answers, then the files of the
// tasks whose answer was delivered (off the acknowledgment's path: the worker answers its client
// while this thread writes them).
void log_server::state::round(const epoll_event* evs, int n, bool& stop) {
  round_bytes.clear();
  round_last.clear();
  std::set<int> ready;
  // Requests left from the last round first: they arrived before anything read now.
  for (auto& [fd, c] : conns) {
    if (!c.backlog) continue;
    stage_requests(c);
    ready.insert(fd);
  }
  for (int i = 0; i < n; ++i) {
    const int fd = evs[i].data.fd;
    if (fd == wake.get()) {
      stop = true;  // after this round: what was read is committed, answered or cancelled
      continue;
    }
    if (fd == listener.get()) {
      accept_all();
    } else if (auto it = conns.find(fd); it != conns.end()) {
      if (!it->second.backlog) read_conn(fd, it->second);
      ready.insert(fd);
    }
  }
  // One commit per log for every record staged this round.
  std::map<std::size_t, os::status> outcome;
  for (const auto& [d, last] : round_last) {
    task_log* log = logs(d);
    os::status s = log ? log->flush() : os::status{};
    if (s.ok() && log && committed) committed(d, *log);
    outcome.emplace(d, std::move(s));
  }
  std::vector<staged_task> to_write;
  for (const int fd : ready) answer(fd, conns[fd], outcome, to_write);
  // The answer woke its worker with a sync wake-up (a unix socket's), which may put the worker on
  // this thread's CPU, expecting this thread to sleep: with one task in the round (a lone
  // producer's round trip), let it run before the file is written (else the acknowledgment waits
  // for the file, ~50-70 us). Not with more: under load a yield puts this thread behind every
  // runnable task, and the round's files (which the spooler waits for) fall behind.
  if (to_write.size() == 1) ::sched_yield();
  write_files(to_write);
}

void log_server::state::accept_all() {
  for (;;) {
    const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        os::log("task log socket @", name, ": accept failed: ", std::strerror(errno));
      return;
    }
    ucred cred{};
    socklen_t clen = sizeof cred;
    const bool have_cred = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0;
    // An abstract socket has no file permissions: only this node's own user may append records
    // (the same user may write the spool dir itself anyway).
    if (!have_cred || cred.uid != ::geteuid()) {
      os::log("task log socket @", name, ": refused a connection from pid ", cred.pid, " uid ",
              cred.uid, " (only uid ", ::geteuid(), " may send tasks)");
      ::close(fd);
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      os::log("task log socket @", name, ": cannot poll a connection: ", std::strerror(errno));
      ::close(fd);
      continue;
    }
    conns[fd].peer = cred.pid;
  }
}

void log_server::state::close_conn(int fd) {
  (void)::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  if (auto it = conns.find(fd); it != conns.end())
    for (const int client : it->second.clients) ::close(client);  // their requests never came
  conns.erase(fd);
}

void log_server::state::reap_dead_peers() {
  std::vector<int> dead;
  for (const auto& [fd, c] : conns)
    if (!peer_alive(c.peer)) dead.push_back(fd);
  for (const int fd : dead) close_conn(fd);
}

log_server::~log_server() {
  if (!st_) return;
  const std::uint64_t one = 1;
  (void)!::write(st_->wake.get(), &one, sizeof one);
  std::unique_lock lock(st_->mu);
  if (!st_->cv.wait_for(lock, std::chrono::seconds(5), [&] { return !st_->running; })) {
    os::log("task log socket @", name_, ": its thread did not stop in 5 s");
  }
}

void log_server::drop_in_child() {
  if (!st_) return;
  // The thread does not exist here; its mutex may have been held at the fork: nothing of the
  // state is touched but the descriptors this process must not keep (the copies of the
  // connections stay open, see reap_dead_peers()).
  ::close(st_->listener.release());
  ::close(st_->epoll.release());
  ::close(st_->wake.release());
  std::shared_ptr<state> leaked = std::move(st_);
  new std::shared_ptr<state>(std::move(leaked));  // never destroyed: it may hold a locked mutex
}

}  // namespace brood::spooler
