// spool_pipe: an event loop's enqueue through the node's shared task log (spool_pipe.hpp).
#include "brood/spooler/spool_pipe.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <span>

#include "brood/os/fd_passing.hpp"
#include "brood/os/log.hpp"
#include "log_server.hpp"
#include "spool_fs.hpp"

namespace brood::spooler {

std::unique_ptr<spool_pipe> spool_pipe::open(std::shared_ptr<const spool_store> store, pid_t pid) {
  if (!store) return nullptr;
  std::string server = store->shared_server();
  if (server.empty()) return nullptr;
  os::unique_fd fd = log_client::connect_to(server);
  if (!fd) return nullptr;
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl | O_NONBLOCK) != 0) return nullptr;
  std::unique_ptr<spool_pipe> p(new spool_pipe);
  p->store_ = std::move(store);
  p->server_ = std::move(server);
  p->pid_ = pid;
  p->fd_ = std::move(fd);
  return p;
}

bool spool_pipe::submit(const spool_vars& vars, std::string_view body, callback done) {
  return offer(vars, body, -1, std::move(done)) != taken::no;
}

spool_pipe::taken spool_pipe::offer(const spool_vars& vars, std::string_view body, int client,
                                    callback done) {
  if (broken_) return taken::no;
  std::optional<spool_store::shared_task> t;
  if (spool_status s = store_->prepare_shared(vars, body, pid_, t); !s) {
    done(std::move(s));
    return taken::queued;
  }
  if (!t) return taken::no;
  // The connection goes along only when no other task waits for an answer: the hand-over saves
  // this loop a wake-up for the answer, not while it waits for others' anyway (under load it
  // would only move the client's answer and close onto the log's single thread). Its bytes must
  // go first, with it.
  if (client >= 0 && out_.empty() && pending_.empty()) {
    wire::bytes req;
    log_client::encode_request(req, t->dir_index, t->rel_path, t->file, true, true);
    const std::string_view bytes(reinterpret_cast<const char*>(req.data()), req.size());
    const os::status sent = os::send_with_fds(fd_.get(), bytes, std::span<const int>(&client, 1));
    if (sent.ok()) return taken::handed_over;
    if (sent.code().value() == EMSGSIZE) {  // only a part went, with the connection
      broken("cannot send a task to the node's task log (@" + server_ + "): " + sent.message());
      return taken::handed_over;  // the master drops it unanswered when this connection ends
    }
    // Full: queued below, without the connection.
  }
  // The master writes the spool file once it has answered (docs/spool_format.md §9.7).
  log_client::encode_request(out_, t->dir_index, t->rel_path, t->file, true);
  flush_out();
  pending_.push_back({std::move(done), spool_fs::join(t->dir, t->name)});
  if (broken_) broken("the node's task log (@" + server_ + ") closed the connection");
  return taken::queued;
}

void spool_pipe::flush_out() {
  while (!broken_ && sent_ < out_.size()) {
    const ssize_t w =
        ::send(fd_.get(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (w <= 0) {
      broken_ = true;  // broken(): by the caller, once its task is queued
      return;
    }
    sent_ += static_cast<std::size_t>(w);
  }
  if (sent_ == out_.size()) {
    out_.clear();
    sent_ = 0;
  }
}

void spool_pipe::on_writable() {
  flush_out();
  if (broken_) broken("the node's task log (@" + server_ + ") closed the connection");
}

void spool_pipe::on_readable() {
  if (broken_) return;
  wire::byte buf[4096];
  bool eof = false;
  for (;;) {
    const ssize_t r = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r <= 0) {
      eof = true;
      break;
    }
    in_.insert(in_.end(), buf, buf + r);
    if (static_cast<std::size_t>(r) < sizeof buf) break;
  }
  std::size_t off = 0;
  while (!pending_.empty()) {
    os::result<std::uint64_t> seq = std::uint64_t{0};
    const std::size_t n = log_client::decode_answer(wire::bytes_view(in_).subspan(off), seq);
    if (n == 0) break;
    off += n;
    waiting_task w = std::move(pending_.front());
    pending_.pop_front();
    spool_status st;
    if (seq) {
      st.path = std::move(w.path);
    } else {
      st = {make_error_code(spool_errc::write_failed), seq.error().message(), {}};
    }
    w.done(std::move(st));
  }
  in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(off));
  if (eof) broken("no answer from the node's task log (@" + server_ + ")");
}

void spool_pipe::broken(const std::string& why) {
  broken_ = true;
  std::deque<waiting_task> failed = std::move(pending_);
  pending_.clear();
  // Their answers were not delivered: the master cancels those it committed (no file, a done
  // record), unless it died (then a recovery may run a committed one: never acknowledged).
  if (!failed.empty()) os::log("spooler: ", why, ": ", failed.size(), " task(s) refused");
  for (waiting_task& w : failed) w.done({make_error_code(spool_errc::write_failed), why, {}});
}

}  // namespace brood::spooler
