// The node side of remote enqueue (modifier1 17, docs/protocol.md §10): decode the task's vars
// block, write it durably through the spool store, answer with uWSGI's bare 4-byte reply.
// With the node's shared task log (docs/spool_format.md §9.7), a task never leaves the worker's
// event loop: its record goes to the master's log on a non-blocking connection
// (spooler::spool_pipe), and the answer is sent when the loop sees the commit's answer (no thread
// hand-off, no condition variable); the master writes the task's spool file after that answer,
// off the acknowledgment's path. When nothing was read past the request, the client's connection
// goes to the master with the record and the master's log thread answers the client itself once
// the commit covers the task (this worker closes its copy at once: one wake-up fewer per task).
// The other tasks
// (`at`, spooler-external dirs, no shared log) are written on a small thread pool of the worker
// process (a deferred handler): while one task waits for its fsync, the next connections' tasks
// are written too, and the kernel commits their journal entries together.
#include <pthread.h>
#include <unistd.h>

#include <atomic>

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "brood/node/remote_spool.hpp"
#include "brood/os/asio.hpp"
#include "brood/os/log.hpp"
#include "brood/spooler/spool_pipe.hpp"
#include "brood/wire/modifier.hpp"
#include "brood/wire/vars.hpp"

namespace brood::node {
namespace {

// A spool request's vars are task data, not a web request: uWSGI spools them without a pair
// limit, bounded only by the u16 packet size (4 bytes per pair at the least).
wire::limits task_limits() {
  wire::limits lim;
  lim.buffer_size = wire::limits::max_buffer_size;
  lim.max_vars = wire::limits::max_buffer_size / 8 + 1;
  return lim;
}

// Concurrent durable writes per worker process. More than the usual number of concurrent
// producers per worker costs only idle threads.
constexpr unsigned writer_threads = 8;

// [255, 0, m2]: FF 00 00 01 (durable) or FF 00 00 00 (refused), nothing after it; then the
// connection closes, as uWSGI's does (a client reading to the end must not wait for keepalive).
reply bare_reply(wire::response_modifier2 m2) {
  reply r;
  r.keep_alive = false;
  const auto head = wire::encode_header(
      wire::header{wire::to_byte(wire::modifier1::response), 0, wire::to_byte(m2)});
  r.data.assign(head.begin(), head.end());
  return r;
}

reply refuse(const request& rq, const std::string& why) {
  os::log("spooler: refused a task from ", rq.peer, ": ", why);
  return bare_reply(wire::response_modifier2::failure);
}

// Decodes the request's vars block into owned task vars. False (with `why`) when malformed.
bool task_vars(const request& rq, wire::spool_vars& out, std::string& why) {
  thread_local std::vector<wire::var> views;
  const wire::decode_result res = wire::decode_vars(rq.payload, task_limits(), views);
  if (!res.is_done()) {
    why = "malformed vars block: " + res.why;
    return false;
  }
  out.clear();
  out.reserve(views.size());
  for (const wire::var& v : views) out.emplace_back(v.key, v.value);
  return true;
}

// Writes one task; the answer is always one of the two bare replies, whatever fails (never a
// framed error).
reply write_task(const spooler::spool_store& store, const wire::spool_vars& vars,
                 const std::string& peer) {
  spooler::spool_status st;
  try {
    st = store.enqueue(vars, {});
  } catch (const std::exception& e) {
    st.error = make_error_code(spooler::spool_errc::write_failed);
    st.message = std::string("the spool store failed: ") + e.what();
  }
  if (st) return bare_reply(wire::response_modifier2::success);
  os::log("spooler: refused a task from ", peer, ": ",
          st.message.empty() ? st.error.message() : st.message);
  return bare_reply(wire::response_modifier2::failure);
}

// The writer threads of this process, started on first use (after the fork: a worker's own).
// Thread-safety: submit() may be called from any thread.
class task_writer {
 public:
  explicit task_writer(std::shared_ptr<const spooler::spool_store> store)
      : store_(std::move(store)) {}

  void submit(wire::spool_vars vars, std::string peer, reply_callback done) {
    asio::post(pool(), [store = store_, vars = std::move(vars), peer = std::move(peer),
                        done = std::move(done)] { done(write_task(*store, vars, peer)); });
  }

 private:
  asio::thread_pool& pool() {
    std::lock_guard lock(mu_);
    if (!pool_ || owner_ != ::getpid()) {
      // A pool inherited through fork has no threads: leak it (its destructor would wait for
      // threads that do not exist in this process) and start this process's own.
      if (pool_ && owner_ != ::getpid()) (void)pool_.release();
      pool_ = std::make_unique<asio::thread_pool>(writer_threads);
      owner_ = ::getpid();
    }
    return *pool_;
  }

  std::shared_ptr<const spooler::spool_store> store_;
  std::mutex mu_;
  std::unique_ptr<asio::thread_pool> pool_;
  pid_t owner_ = 0;
};

reply answer(const spooler::spool_status& st, const std::string& peer) {
  if (st) return bare_reply(wire::response_modifier2::success);
  os::log("spooler: refused a task from ", peer, ": ",
          st.message.empty() ? st.error.message() : st.message);
  return bare_reply(wire::response_modifier2::failure);
}

// Bumped in every forked child: a loop's pipe belongs to the process that opened it.
std::atomic<unsigned> fork_generation{0};

unsigned current_generation() {
  static const bool registered = [] {
    ::pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
    return true;
  }();
  (void)registered;
  return fork_generation.load(std::memory_order_relaxed);
}

// One event loop's pipe to the node's task log: it watches the pipe's socket on the loop and
// completes the tasks there. Lives on the loop's thread only.
class loop_pipe : public std::enable_shared_from_this<loop_pipe> {
 public:
  loop_pipe(asio::io_context& io, std::unique_ptr<spooler::spool_pipe> p)
      : pipe_(std::move(p)), sd_(io, pipe_->fd()) {}
  ~loop_pipe() { (void)sd_.release(); }  // the fd is the pipe's

  bool ok() const noexcept { return pipe_->ok(); }

  // no: the task must take the thread pool's way (spool_store::enqueue). handed_over: the task
  // and the client's connection `client` went to the node's task log, which answers the client
  // (the caller closes its copy without answering). queued: `done` is called once answered.
  spooler::spool_pipe::taken submit(const wire::spool_vars& vars, std::string peer, int client,
                                    reply_callback done) {
    const auto taken = pipe_->offer(vars, {}, client,
                                    [peer = std::move(peer), done = std::move(done)](
                                        spooler::spool_status st) { done(answer(st, peer)); });
    if (taken != spooler::spool_pipe::taken::no) arm();
    return taken;
  }

 private:
  void arm() {
    if (!pipe_->ok()) return;
    if (pipe_->waiting() && !reading_) {
      reading_ = true;
      sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       self->reading_ = false;
                       if (!ec) self->pipe_->on_readable();
                       self->arm();
                     });
    }
    if (pipe_->wants_write() && !writing_) {
      writing_ = true;
      sd_.async_wait(asio::posix::stream_descriptor::wait_write,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       self->writing_ = false;
                       if (!ec) self->pipe_->on_writable();
                       self->arm();
                     });
    }
  }

  std::unique_ptr<spooler::spool_pipe> pipe_;
  asio::posix::stream_descriptor sd_;
  bool reading_ = false, writing_ = false;
};

// The pipe of one event loop: an io_context service, so that it lives exactly as long as its
// loop (a new loop never finds a dead loop's pipe). Used from the loop's thread only. After a
// fork the parent's pipe is forgotten (leaked: its fd is not this process's to use).
class pipe_service : public asio::io_context::service {
 public:
  static asio::io_context::id id;
  explicit pipe_service(asio::io_context& io) : asio::io_context::service(io), io_(io) {}

  loop_pipe* get(const std::shared_ptr<const spooler::spool_store>& store) {
    const unsigned gen = current_generation();
    if (gen != generation_) {
      if (pipe_) new std::shared_ptr<loop_pipe>(std::move(pipe_));  // the parent's: leaked
      pipe_.reset();
      generation_ = gen;
      pid_ = ::getpid();
      tried_ = false;
    }
    if (pipe_ && !pipe_->ok()) pipe_.reset();  // broken: its pending waits hold it until they end
    if (!pipe_ && !tried_) {
      auto p = spooler::spool_pipe::open(store, pid_);
      if (p) {
        pipe_ = std::make_shared<loop_pipe>(io_, std::move(p));
      } else {
        tried_ = true;  // no shared log for this process: the writer threads' way
      }
    }
    return pipe_.get();
  }

 private:
  void shutdown() override { pipe_.reset(); }

  asio::io_context& io_;
  std::shared_ptr<loop_pipe> pipe_;
  unsigned generation_ = ~0u;
  pid_t pid_ = 0;
  bool tried_ = false;  // open() found no server: not tried again in this process
};
asio::io_context::id pipe_service::id;

loop_pipe* pipe_of(asio::io_context& io, const std::shared_ptr<const spooler::spool_store>& store) {
  return asio::use_service<pipe_service>(io).get(store);
}

}  // namespace

void serve_remote_spool(router& r, std::shared_ptr<const spooler::spool_store> store) {
  const auto m1 = wire::to_byte(wire::modifier1::spooler);
  if (!store) {
    r.on_packet(m1, [](const request& rq) -> std::optional<reply> {
      return refuse(rq, "this node has no spooler");
    });
    return;
  }
  auto writer = std::make_shared<task_writer>(store);
  r.on_deferred_packet(m1, [writer, store](const request& rq, reply_callback done) {
    wire::spool_vars vars;
    std::string why;
    if (!task_vars(rq, vars, why)) return done(refuse(rq, why));
    if (rq.io) {
      if (loop_pipe* p = pipe_of(*rq.io, store)) {
        switch (p->submit(vars, std::string(rq.peer), rq.fd, done)) {
          case spooler::spool_pipe::taken::handed_over:
            // The log thread answers the client itself after the commit (no wake-up of this
            // worker).
            return done(reply{{}, false});
          case spooler::spool_pipe::taken::queued:
            return;
          case spooler::spool_pipe::taken::no:
            break;
        }
      }
    }
    writer->submit(std::move(vars), std::string(rq.peer), std::move(done));
  });
}

}  // namespace brood::node
