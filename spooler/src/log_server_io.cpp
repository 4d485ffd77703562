// log_server's requests and answers (log_server.hpp): reading what the workers sent (with the
// connections of op 3), staging the records, answering after the commit, writing the files.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "brood/os/fd_passing.hpp"
#include "brood/os/log.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/modifier.hpp"
#include "log_protocol.hpp"
#include "log_server_state.hpp"
#include "task_log.hpp"

namespace brood::spooler {

using namespace log_protocol;

namespace {

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

// Answers a connection's staged requests in order (an op 3 task: its own client). A task whose
// file the server writes is written only once its answer was delivered (sent into the
// connection); a task whose answer could not be sent to its worker (the worker is gone) is
// cancelled, op 1 or 2: a done record, so that no recovery writes its file again (its client was
// refused: a local spool removes its own file).
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

// Reads what arrived and stages the complete requests (stage_requests); a malformed length or
// EOF closes the connection once this round's answers are sent.
void log_server::state::read_conn(int fd, conn& c) {
  char buf[65536];
  for (;;) {
    // The connections of op 3 requests come with their bytes (one per request, in order; a read
    // stops after the bytes that carried one).
    auto r = os::receive_with_fds(fd, buf, 4);
    if (!r && r.error().code().value() == EINTR) continue;
    if (!r && (r.error().code().value() == EAGAIN || r.error().code().value() == EWOULDBLOCK))
      break;
    if (!r || r->size == 0) {
      c.closing = true;
      break;
    }
    for (os::unique_fd& passed : r->fds) c.clients.push_back(passed.release());
    c.in.insert(c.in.end(), buf, buf + r->size);
    // A read that brought a connection may have stopped before more bytes: read on.
    if (r->size < sizeof buf && r->fds.empty() && !r->fds_truncated) break;
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

}  // namespace brood::spooler
