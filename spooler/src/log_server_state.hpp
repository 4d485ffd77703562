#pragma once
// The log server's state and its one thread's steps (log_server.hpp): log_server.cpp runs the
// loop (accept, rounds, connections), log_server_io.cpp reads, stages and answers the requests.
#include <sys/epoll.h>
#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"
#include "brood/wire/bytes.hpp"
#include "log_server.hpp"

namespace brood::spooler {

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

}  // namespace brood::spooler
