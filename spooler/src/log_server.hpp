#pragma once
// One task log per spool dir per node (docs/spool_format.md §9, "One log per node"): the process
// that made the node's spool store (the master, before it forks) serves its task logs to the
// processes it forks, over a unix stream socket in the abstract namespace. A worker writes a
// task's spool file itself while the master's log appends the task's record; the master's log
// commits the records of every worker together (one fdatasync per batch across the node's
// processes, task_log's group commit), then answers. The worker acknowledges the task once both
// its file write and the answer succeeded.
//
// Request: u32 length of the rest, u8 op, u16 dir index, u16 path length, the path (relative to
// the dir, as task_log::commit_task), the spool file's bytes. Op 1: the client writes the spool
// file itself (a local spool: its caller gets the path and may open it at once). Op 2 (the remote
// enqueue's): the server writes the file (temp + rename, no fsync) once it has sent the answer,
// off the acknowledgment's path. Op 3 (a remote enqueue handed over): as op 2, and the request's
// bytes carry (SCM_RIGHTS) the connection of the task's client, whose request the worker has read:
// the server sends that client uWSGI's bare answer itself (FF 00 00 01 once the commit covers the
// task, FF 00 00 00 if refused) and closes its copy; the worker, which closed its own at once,
// gets no answer (one wake-up fewer per task). Such a task runs even if its client is gone by
// then (as a uWSGI task does: spooled before its answer). If an answer to a worker cannot be sent
// (the worker is gone), its task is cancelled, op 1 or 2 (a done record; for op 2 no file: it never
// runs; for op 1 no recovery writes its file again, the client removes it). Answer: u8 0, u64 seq
// (the record is durable); or u8 1, u32 errno, u16 length, the error message. All integers little
// endian. A client may send several requests without waiting (pipelining): the answers come in
// the order of the requests. A client keeps its connection for its next requests.
//
// One thread serves every connection (epoll): each round it reads every request that arrived
// (at most half a segment per log: the rest waits for the next round), stages their records
// (task_log::stage_task), commits each log touched with one flush(), answers (after a round of
// one task it first yields the CPU to the worker or client it woke), then writes the op-2 and
// op-3 files of the round; while it syncs, the next round's requests gather in the sockets (group
// commit with no thread hand-off). A file that cannot be written breaks its log (task_log::fail):
// the task is acknowledged, so its segment stays active until a recovery writes the file.
//
// Processes: the server's thread exists only in the process that started it. A forked child must
// call drop_in_child() (closes its copy of the listening socket, so that a dead master's socket
// refuses connections instead of holding them) and never destroy the server object (leak it). A
// connection ends at EOF or when its client's process is gone (checked every idle 5 s: a forked
// child may hold a copy of the connection). Thread-safety: log_client calls may run from any
// thread; each thread uses its own connection.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"
#include "brood/wire/bytes.hpp"

namespace brood::spooler {

class task_log;

class log_server {
 public:
  // The log of the store's dir `dir` (index in its dirs()), or null when it has none.
  using log_source = std::function<task_log*(std::size_t dir)>;
  // Called after each committed task (the server's own counters: see spool_store::publish).
  using on_commit = std::function<void(std::size_t dir, task_log& log)>;

  // Listens on "\0brood-tasklog-PID-N" and starts the acceptor thread.
  static os::result<std::unique_ptr<log_server>> start(log_source logs, on_commit committed);
  // Stops accepting, shuts the connections down and waits for their threads (bounded: 5 s).
  ~log_server();
  log_server(const log_server&) = delete;
  log_server& operator=(const log_server&) = delete;

  // The abstract socket name (without its leading NUL).
  const std::string& name() const noexcept { return name_; }
  pid_t owner() const noexcept { return owner_; }
  // In a forked child: closes the inherited listening socket.
  void drop_in_child();

 private:
  struct state;
  log_server() = default;
  std::string name_;
  pid_t owner_ = 0;
  std::shared_ptr<state> st_;
};

// The client side, in a process forked from the server's.
namespace log_client {

// The outcome of commit(): `unreachable` (nothing was sent: the server is gone; the caller may
// use a log of its own) or the server's answer.
struct outcome {
  bool unreachable = false;
  os::result<std::uint64_t> seq = std::uint64_t{0};
};

// Sends the record of `rel_path` to the server named `server`, runs `write_file` while the
// server commits it, then waits for the answer (at most 30 s). The task is durable and its file
// written only when both succeeded; a failure of `write_file` is returned (the record may still
// be committed: the task may run after a recovery, as an unacknowledged task may).
outcome commit(const std::string& server, std::size_t dir, const std::string& rel_path,
               wire::bytes_view file, const std::function<os::status()>& write_file);

// Appends one task request to `out` (the protocol above): op 1 (the client writes the file)
// or, with `server_writes_file`, op 2 (the server writes it once the answer is sent); with
// `answer_client` too, op 3 (its bytes must be sent with the client's connection, SCM_RIGHTS).
void encode_request(wire::bytes& out, std::size_t dir, const std::string& rel_path,
                    wire::bytes_view file, bool server_writes_file = false,
                    bool answer_client = false);
// Parses one answer at the front of `in`: 0 when incomplete, else its size (`seq` set).
std::size_t decode_answer(wire::bytes_view in, os::result<std::uint64_t>& seq);
// Connects to the server named `server` (blocking sockets, 30 s timeouts); invalid if it is gone.
os::unique_fd connect_to(const std::string& server);

}  // namespace log_client

}  // namespace brood::spooler
