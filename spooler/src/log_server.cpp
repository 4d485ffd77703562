// log_server / log_client: the node's shared task log over an abstract unix socket.
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
#include "brood/wire/header.hpp"
#include "brood/wire/modifier.hpp"
#include "log_protocol.hpp"
#include "task_log.hpp"

namespace brood::spooler {

using namespace log_protocol;

namespace {

std::atomic<int> servers_started{0};

}  // namespace

// One thread serves every connection (epoll): it reads every request that has arrived, stages
// their records, commits each log touched with one flush() (one pwrite + one fdatasync for the
// whole round: while it syncs, the next round's requests gather in the sockets), then answers
// them in order. No thread hand-off, no condition variable on the commit's path.
struct log_server::state {
  std::string name;  // the socket's, for log lines
  log_source logs;
  on_commit committed;
  os::unique_fd listener;
  os::unique_fd epoll;
  os::unique_fd wake;  // eventfd: the destructor asks the thread to stop
  std::mutex mu;
  std::condition_variable cv;
  bool running = false;  // the thread has not returned yet

  // One request staged this round, answered in order.
  struct staged_task {
    os::result<std::uint64_t> seq = std::uint64_t{0};
    std::size_t dir = 0;
    bool file_later = false;   // op_task_file_later: its file is written after its answer
    std::string path;          // the file's path in the dir
    wire::bytes file;          // file_later only: its bytes
    bool handed_over = false;  // op_task_answer_client: its worker gets no answer
    int client = -1;           // and its client's connection, answered and closed here
  };
  struct conn {
    pid_t peer = 0;
    wire::bytes in;                   // bytes of requests not staged yet
    std::vector<staged_task> staged;  // this round's, in order
    std::deque<int> clients;          // connections received, for the op 3 requests in order
    bool closing = false;
    bool backlog = false;  // complete requests left in `in` for the next round
  };
  std::map<int, conn> conns;
  // This round: the bytes staged per dir (a round stages at most half a segment per log, so
  // that one flush switches segments at most once: see task_log's checkpoint, which waits for
  // the files of the round that switched), and the highest seq staged per dir.
  std::map<std::size_t, std::uint64_t> round_bytes;
  std::map<std::size_t, std::uint64_t> round_last;

  void run();
  void round(const epoll_event* evs, int n, bool& stop);
  void accept_all();
  void read_conn(int fd, conn& c);
  void stage_requests(conn& c);
  void answer(int fd, conn& c, std::map<std::size_t, os::status>& outcome,
              std::vector<staged_task>& to_write);
  bool answer_client(staged_task& t);
  void write_files(std::vector<staged_task>& to_write);
  staged_task stage(const wire::bytes_view req, conn& c);
  void close_conn(int fd);
  void reap_dead_peers();
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

namespace {

// A client's process may die while another process forked from the server's holds a copy of
// this end of the connection (no EOF then): the client's pid (SO_PEERCRED) is checked every
// 5 s while the server is idle.
bool peer_alive(pid_t pid) { return pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH; }

// Sends `out` (waiting at most 5 s each time the socket is full); returns how many of its bytes
// were sent (all of them, unless the connection failed: the answers past that were not
// delivered).
std::size_t send_some(int fd, const wire::bytes& out) {
  std::size_t off = 0;
  while (off < out.size()) {
    const ssize_t w = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 5000) <= 0) return off;
      continue;
    }
    if (w <= 0) return off;
    off += static_cast<std::size_t>(w);
  }
  return off;
}

void put_answer(wire::bytes& out, const os::result<std::uint64_t>& seq) {
  if (seq) {
    out.push_back(0);
    put_le(out, *seq, 8);
    return;
  }
  const std::string& m = seq.error().message();
  out.push_back(1);
  put_le(out, static_cast<std::uint32_t>(seq.error().code().value()), 4);
  const std::size_t mlen = std::min<std::size_t>(m.size(), 0xffff);
  put_le(out, mlen, 2);
  out.insert(out.end(), m.begin(), m.begin() + static_cast<std::ptrdiff_t>(mlen));
}

}  // namespace

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
  for (auto& [fd, c] : conns) ::close(fd);
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

// Answers a connection's staged requests in order. A task whose file the server writes is
// written only once its answer was delivered (sent into the connection); a task whose answer
// could not be sent (the client is gone) is cancelled, whichever op: a done record, so that no
// recovery writes its file again (its client refused it: a local spool removes its own file).
void log_server::state::answer(int fd, conn& c, std::map<std::size_t, os::status>& outcome,
                               std::vector<staged_task>& to_write) {
  wire::bytes out;
  std::vector<std::size_t> ends;
  ends.reserve(c.staged.size());
  for (staged_task& t : c.staged) {
    const auto it = outcome.find(t.dir);
    if (t.seq && it != outcome.end() && !it->second.ok()) t.seq = it->second;
    // A handed-over task runs whether or not its client still reads (as uWSGI's, whose task is
    // spooled before its answer): only a worker that cannot be answered cancels its tasks.
    if (t.handed_over && t.client >= 0) (void)answer_client(t);
    if (!t.handed_over) put_answer(out, t.seq);
    ends.push_back(t.handed_over ? 0 : out.size());
  }
  const std::size_t sent = out.empty() ? 0 : send_some(fd, out);
  std::size_t cancelled = 0;
  for (std::size_t i = 0; i < c.staged.size(); ++i) {
    staged_task& t = c.staged[i];
    if (!t.seq) continue;
    if (ends[i] <= sent) {
      if (t.file_later) to_write.push_back(std::move(t));
    } else if (task_log* log = logs(t.dir)) {
      (void)log->done(t.path);
      ++cancelled;
    }
  }
  if (cancelled > 0)
    os::log("task log socket @", name, ": ", cancelled, " committed task(s) whose answer could ",
            "not be sent (the client is gone) cancelled: they will not run");
  c.staged.clear();
  if (sent < out.size() || (c.closing && !c.backlog)) close_conn(fd);
}

// Sends an op 3 task's own client uWSGI's bare answer (FF 00 00 01 once durable, FF 00 00 00
// when refused) and closes the server's copy of that connection (the worker closed its own: the
// client then reads the answer and the end). True when the answer was sent.
bool log_server::state::answer_client(staged_task& t) {
  const auto m2 = t.seq ? wire::response_modifier2::success : wire::response_modifier2::failure;
  const auto head = wire::encode_header(
      wire::header{wire::to_byte(wire::modifier1::response), 0, wire::to_byte(m2)});
  const bool sent = ::send(t.client, head.data(), head.size(), MSG_NOSIGNAL | MSG_DONTWAIT) ==
                    static_cast<ssize_t>(head.size());
  ::close(t.client);
  t.client = -1;
  if (!t.seq) os::log("spooler: refused a task: ", t.seq.error().message());
  return sent;
}

// Writes the spool files of the tasks acknowledged this round (temp + rename, no fsync), then
// lets each log's checkpoint pass them. A file that cannot be written breaks its log: the task
// is acknowledged and its record durable, so its segment must stay active until a recovery
// writes the file (the next start's), and no new task is taken meanwhile.
void log_server::state::write_files(std::vector<staged_task>& to_write) {
  std::set<std::size_t> failed;
  for (staged_task& t : to_write) {
    task_log* log = logs(t.dir);
    if (!log || failed.count(t.dir)) continue;
    if (os::status s = log->materialize(t.path, t.file); !s.ok()) {
      failed.insert(t.dir);
      log->fail(os::status(s.code(), "cannot write the spool file of the acknowledged task " +
                                         t.path +
                                         " (its next recovery writes it): " + s.message()));
    }
  }
  for (const auto& [d, last] : round_last) {
    if (failed.count(d)) continue;
    if (task_log* log = logs(d)) log->materialized_through(last);
  }
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

// Reads what arrived and stages the complete requests (stage_requests); a malformed length or
// EOF closes the connection once this round's answers are sent.
void log_server::state::read_conn(int fd, conn& c) {
  wire::byte buf[65536];
  for (;;) {
    // The connections of op 3 requests come with their bytes (one per request, in order; a read
    // stops after the bytes that carried one).
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t r = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    const std::size_t had = c.clients.size();
    for (cmsghdr* h = r > 0 ? CMSG_FIRSTHDR(&msg) : nullptr; h; h = CMSG_NXTHDR(&msg, h)) {
      if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < n; ++i) {
        int passed = -1;
        std::memcpy(&passed, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
        c.clients.push_back(passed);
      }
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r <= 0) {
      c.closing = true;
      break;
    }
    c.in.insert(c.in.end(), buf, buf + r);
    // A read that brought a connection may have stopped before more bytes: read on.
    if (static_cast<std::size_t>(r) < sizeof buf && c.clients.size() == had) break;
  }
  stage_requests(c);
}

// Stages the complete requests of `c.in` until a log's round budget (half a segment) is used:
// the rest waits in `c.in` for the next round (`backlog`).
void log_server::state::stage_requests(conn& c) {
  std::size_t off = 0;
  c.backlog = false;
  while (c.in.size() - off >= 4) {
    const auto n = static_cast<std::uint32_t>(get_le(c.in.data() + off, 4));
    if (n < 5 || n > max_request) {
      c.closing = true;
      break;
    }
    if (c.in.size() - off - 4 < n) break;
    const std::size_t dir = get_le(c.in.data() + off + 5, 2);
    std::uint64_t& used = round_bytes[dir];
    if (task_log* log = logs(dir); log && used > 0 && used + n > log->segment_size() / 2) {
      c.backlog = true;
      break;
    }
    used += n;
    c.staged.push_back(stage(wire::bytes_view(c.in).subspan(off + 4, n), c));
    if (const staged_task& t = c.staged.back(); t.seq)
      round_last[t.dir] = std::max(round_last[t.dir], *t.seq);
    off += 4 + n;
  }
  c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(off));
}

log_server::state::staged_task log_server::state::stage(const wire::bytes_view req, conn& c) {
  staged_task t;
  t.dir = get_le(req.data() + 1, 2);
  const std::size_t plen = get_le(req.data() + 3, 2);
  t.handed_over = req[0] == op_task_answer_client;
  if (t.handed_over && !c.clients.empty()) {
    t.client = c.clients.front();  // answered (and closed) whatever the outcome
    c.clients.pop_front();
  }
  const bool known = req[0] == op_task || req[0] == op_task_file_later ||
                     (req[0] == op_task_answer_client && t.client >= 0);
  if (!known || 5 + plen > req.size()) {
    // An op 3 request whose connection did not come (this process's open files limit: the
    // kernel drops what it cannot pass): its client sees the end without an answer.
    if (t.handed_over && t.client < 0)
      os::log("task log socket @", name, ": a handed-over task came without its connection ",
              "(open files limit?): refused");
    t.seq = os::status::from_errno(EPROTO, "malformed task log request");
    if (t.client >= 0) ::close(t.client);  // a malformed op 3: no answer to a garbled client
    t.client = -1;
    return t;
  }
  task_log* log = logs(t.dir);
  if (!log) {
    t.seq = os::status::from_errno(ENOENT, "no task log for spooler dir " + std::to_string(t.dir));
    return t;
  }
  std::string path(reinterpret_cast<const char*>(req.data() + 5), plen);
  const wire::bytes_view file = req.subspan(5 + plen);
  t.file_later = req[0] != op_task;
  t.seq = log->stage_task(path, file, t.file_later);
  if (t.file_later) t.file.assign(file.begin(), file.end());
  t.path = std::move(path);
  return t;
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
