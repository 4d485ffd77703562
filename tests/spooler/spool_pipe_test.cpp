// The event loop's enqueue (spool_pipe.hpp) and the single-threaded log server under it
// (log_server.hpp): requests pipelined on one connection are staged together, committed by one
// flush and answered in order; a pipe completes its tasks only from on_readable(), once the
// commit covering them is done, never inside submit().
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <vector>

#include "brood/os/fd_passing.hpp"
#include "brood/spooler/spool_pipe.hpp"
#include "brood/spooler/spool_store.hpp"
#include "log_server.hpp"
#include "sanitizers.hpp"
#include "spool_store_fixture.hpp"
#include "task_log.hpp"
#include "task_log_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::spooler {
namespace {

using testing_log::task_file;

std::string name(int i) { return "uwsgi_spoolfile_on_h_5_" + std::to_string(i); }

// Waits (bounded: 30 s) until `fd` is readable.
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 30000) == 1;
}

// A task log of one dir (index 0) and the log server over it.
class log_server_pipelining : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = task_log::open(posix_log_env(), dir.path());
    ASSERT_TRUE(l) << l.error().message();
    log = std::move(*l);
    auto s = log_server::start([this](std::size_t d) { return d == 0 ? log.get() : nullptr; }, {});
    ASSERT_TRUE(s) << s.error().message();
    server = std::move(*s);
  }
  void TearDown() override {
    server.reset();
    log.reset();
  }

  testing::temp_dir dir{"brood_log_pipe_"};
  std::unique_ptr<task_log> log;
  std::unique_ptr<log_server> server;
};

TEST_F(log_server_pipelining, requests_sent_together_are_answered_in_order) {
  constexpr int n = 50;
  wire::bytes all;
  for (int i = 0; i < n; ++i) {
    // Every 10th request names a dir with no log: its failure comes in its place.
    log_client::encode_request(all, i % 10 == 9 ? 3 : 0, name(i), task_file(name(i)));
  }
  os::unique_fd fd = log_client::connect_to(server->name());
  ASSERT_TRUE(fd);
  ASSERT_EQ(::send(fd.get(), all.data(), all.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(all.size()));
  const std::vector<os::result<std::uint64_t>> answers = testing_log::read_answers(fd.get(), n);
  ASSERT_EQ(answers.size(), static_cast<std::size_t>(n));
  std::uint64_t last = 0;
  for (int i = 0; i < n; ++i) {
    if (i % 10 == 9) {
      ASSERT_FALSE(answers[i]) << i;
      EXPECT_NE(answers[i].error().message().find("no task log for spooler dir 3"),
                std::string::npos);
      continue;
    }
    ASSERT_TRUE(answers[i]) << i << ": " << answers[i].error().message();
    EXPECT_GT(*answers[i], last) << "in the order of the requests";
    last = *answers[i];
  }
  EXPECT_GE(log->durable_seq(), last);
  const task_log_stats st = log->stats();
  EXPECT_EQ(st.tasks, static_cast<std::uint64_t>(n - n / 10));
  EXPECT_LT(st.commits, st.tasks) << "requests read in one round share a commit";
}

// Waits (bounded: 30 s) until `path` exists: the master writes a task's file once it has sent
// the task's answer.
bool appears(const std::string& path) {
  for (int i = 0; i < 30000; ++i) {
    if (std::filesystem::exists(path)) return true;
    ::poll(nullptr, 0, 1);
  }
  return false;
}

// Everything `fd` sends until it closes (bounded: 30 s per read).
std::string read_to_eof(int fd) {
  std::string out;
  char buf[64];
  while (readable(fd)) {
    const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

// Op 3 (log_server.hpp): each request carries its client's connection; the server answers each
// client itself, uWSGI's bare answer after the commit (FF 00 00 00 for a refused task), and
// closes it; the worker's connection gets no answer. Several requests with their connections sent
// before the server reads any (pipelined) each reach their own client.
TEST_F(log_server_pipelining, handed_over_clients_get_their_own_answer_and_the_end) {
  os::unique_fd worker = log_client::connect_to(server->name());
  ASSERT_TRUE(worker);

  constexpr int n = 10;
  std::vector<os::unique_fd> clients;
  for (int i = 0; i < n; ++i) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    clients.emplace_back(pair[0]);
    os::unique_fd handed(pair[1]);  // the worker's copy: closed once sent
    wire::bytes req;
    // Every 5th names a dir with no log: refused.
    log_client::encode_request(req, i % 5 == 4 ? 3 : 0, name(i), task_file(name(i)), true, true);
    const int passed = handed.get();
    ASSERT_TRUE(
        os::send_with_fds(worker.get(),
                          std::string_view(reinterpret_cast<const char*>(req.data()), req.size()),
                          std::span<const int>(&passed, 1))
            .ok())
        << i;
  }
  const std::string ok("\xff\x00\x00\x01", 4), refused("\xff\x00\x00\x00", 4);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(read_to_eof(clients[i].get()), i % 5 == 4 ? refused : ok) << i;
    if (i % 5 != 4) {
      EXPECT_TRUE(appears(dir.path() + "/" + name(i))) << i;
    }
  }
  pollfd p{worker.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "the worker gets no answer for a handed-over task";
  EXPECT_EQ(log->stats().tasks, static_cast<std::uint64_t>(n - n / 5));
}

// Waits (bounded: 30 s) until every thread of `pid` is stopped (state T in its stat).
bool all_stopped(pid_t pid) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (int i = 0; i < 30000; ++i) {
    bool all = true;
    for (const auto& t : std::filesystem::directory_iterator(tasks)) {
      std::ifstream f(t.path() / "stat");
      std::string line((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      const std::size_t end = line.rfind(')');
      if (end == std::string::npos || end + 2 >= line.size() || line[end + 2] != 'T') all = false;
    }
    if (all) return true;
    ::poll(nullptr, 0, 1);
  }
  return false;
}

class spool_pipe_test : public testing_spool::spool_store_fixture {
 protected:
  // A store of one dir whose task log the calling process owns (shared_log): the owner serves it
  // and a forked child's pipe sends its records there.
  std::shared_ptr<const spool_store> shared_store(const std::string& dir) {
    spool_store_options o;
    o.shared_log = true;
    return std::make_shared<const spool_store>(std::vector<std::string>{dir}, o);
  }
};

TEST_F(spool_pipe_test, tasks_complete_on_the_loop_once_committed) {
#if BROOD_TEST_ASAN
  GTEST_SKIP() << "a fork of a multithreaded process deadlocks under AddressSanitizer";
#endif
  const std::string dir = under("spool");
  auto store = shared_store(dir);
  EXPECT_EQ(spool_pipe::open(store, ::getpid()), nullptr) << "the owner has no pipe to itself";
  std::fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Exit codes name the first check that failed.
    auto pipe = spool_pipe::open(store, ::getpid());
    if (!pipe) ::_exit(2);
    constexpr int n = 20;
    std::vector<spool_status> done;
    bool inline_done = false;
    for (int i = 0; i < n; ++i) {
      const bool taken = pipe->submit({{"i", std::to_string(i)}}, "body",
                                      [&](spool_status st) { done.push_back(std::move(st)); });
      if (!taken) ::_exit(3);
      inline_done |= !done.empty();
    }
    if (inline_done) ::_exit(4);  // completed inside submit(): before its commit's answer
    // `at`: not the pipe's (the file's mtime is its due time): enqueue() writes it.
    if (pipe->submit({{"at", "1"}}, "", [](spool_status) { ::_exit(5); })) ::_exit(5);
    // A refused task completes at once, with the reason.
    spool_status bad;
    if (!pipe->submit({{"priority", "x"}}, "", [&](spool_status st) { bad = std::move(st); }) ||
        bad || bad.message.find("priority \"x\" is not digits") == std::string::npos)
      ::_exit(6);
    while (pipe->wants_write()) pipe->on_writable();
    while (pipe->waiting()) {
      if (!readable(pipe->fd())) ::_exit(7);
      pipe->on_readable();
    }
    if (static_cast<int>(done.size()) != n) ::_exit(8);
    for (const spool_status& st : done)
      if (!st || !appears(st.path)) ::_exit(9);
    ::_exit(pipe->ok() ? 0 : 10);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(testing_spool::entries(dir).size(), 20u);
  const spool_log_stats st = spool_store::log_stats(dir);
  EXPECT_EQ(st.tasks, 20u) << "every task's record went through the owner's log";
  EXPECT_EQ(st.segments, 2u) << "one slot: the child opened no log of its own";
}

// The pipe's connection breaks mid-flight: the master has the records but cannot answer (it is
// stopped while the worker's side of the connection goes away). Every task in flight fails with
// the reason; the master, continued, commits their records but cannot send their answers, so it
// cancels them (a done record, no file): they never run, not even after a recovery. The tasks
// acknowledged before stay; the server survives answering a closed connection, and a new pipe
// (what a worker's loop opens next: remote_spool's pipe_service) serves again.
TEST_F(spool_pipe_test, a_broken_connection_fails_the_tasks_in_flight_and_a_new_pipe_serves) {
#if BROOD_TEST_ASAN
  GTEST_SKIP() << "a fork of a multithreaded process deadlocks under AddressSanitizer";
#endif
  const std::string dir = under("spool");
  auto store = shared_store(dir);
  constexpr int before = 10, in_flight = 10, after = 10;
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  std::fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Exit codes name the first check that failed. The parent is stopped for as long as the
    // tasks in flight are; it is continued on every path.
    ::close(report[0]);
    const pid_t parent = ::getppid();
    auto submit_all = [](spool_pipe& pipe, int from, int n, std::vector<spool_status>& done) {
      for (int i = from; i < from + n; ++i)
        if (!pipe.submit({{"i", std::to_string(i)}}, "body",
                         [&done](spool_status st) { done.push_back(std::move(st)); }))
          return false;
      while (pipe.wants_write() && pipe.ok()) pipe.on_writable();
      return true;
    };
    auto wait_all = [](spool_pipe& pipe) {
      while (pipe.waiting() && pipe.ok()) {
        if (!readable(pipe.fd())) return false;
        pipe.on_readable();
      }
      return true;
    };
    auto pipe = spool_pipe::open(store, ::getpid());
    if (!pipe) ::_exit(2);
    std::vector<spool_status> acked;
    if (!submit_all(*pipe, 0, before, acked) || !wait_all(*pipe)) ::_exit(3);
    if (static_cast<int>(acked.size()) != before) ::_exit(4);
    for (const spool_status& st : acked)
      if (!st || !appears(st.path)) ::_exit(5);
    // Mid-flight: the records are in the master's socket, no answer can come back.
    ::kill(parent, SIGSTOP);
    if (!all_stopped(parent)) {
      ::kill(parent, SIGCONT);
      ::_exit(17);
    }
    std::vector<spool_status> failed;
    const bool sent = submit_all(*pipe, before, in_flight, failed);
    // A local spool's request (op 1: its client writes the file) in flight too, on a connection
    // of its own whose client goes away without the answer (and without writing its file).
    os::unique_fd local = log_client::connect_to(store->shared_server());
    wire::bytes req;
    log_client::encode_request(req, 0, name(999), task_file(name(999)));
    const bool local_sent = local && ::send(local.get(), req.data(), req.size(), MSG_NOSIGNAL) ==
                                         static_cast<ssize_t>(req.size());
    if (local) ::shutdown(local.get(), SHUT_RDWR);
    std::vector<std::string> written;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().filename().string().rfind("uwsgi_spoolfile_", 0) == 0)
        written.push_back(e.path().string());
    ::shutdown(pipe->fd(), SHUT_RDWR);
    const bool ended = wait_all(*pipe);
    ::kill(parent, SIGCONT);
    if (!sent || !ended || !local_sent) ::_exit(6);
    if (static_cast<int>(written.size()) != before) ::_exit(7);  // no file before its answer
    if (pipe->ok() || pipe->waiting()) ::_exit(8);
    if (static_cast<int>(failed.size()) != in_flight) ::_exit(9);
    for (const spool_status& st : failed)
      if (st || st.message.find("no answer from the node's task log") == std::string::npos)
        ::_exit(10);
    if (pipe->submit({{"i", "x"}}, "", [](spool_status) { ::_exit(11); })) ::_exit(11);
    // Reconnect: a new pipe to the same server.
    pipe.reset();
    auto again = spool_pipe::open(store, ::getpid());
    if (!again) ::_exit(12);
    std::vector<spool_status> later;
    if (!submit_all(*again, before + in_flight, after, later) || !wait_all(*again)) ::_exit(13);
    if (static_cast<int>(later.size()) != after) ::_exit(14);
    std::string names;
    for (const spool_status& st : acked) names += testing_spool::file_name_of(st.path) + "\n";
    for (const spool_status& st : later) {
      if (!st || !appears(st.path)) ::_exit(15);
      names += testing_spool::file_name_of(st.path) + "\n";
    }
    if (::write(report[1], names.data(), names.size()) != static_cast<ssize_t>(names.size()))
      ::_exit(16);
    ::_exit(0);
  }
  ::close(report[1]);
  std::string names;
  char buf[4096];
  for (ssize_t r; (r = ::read(report[0], buf, sizeof buf)) != 0;) {
    if (r < 0 && errno == EINTR) continue;
    ASSERT_GT(r, 0);
    names.append(buf, static_cast<std::size_t>(r));
  }
  ::close(report[0]);
  int status = 0;
  pid_t w;
  while ((w = ::waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  ASSERT_EQ(w, child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  ASSERT_EQ(WEXITSTATUS(status), 0);
  std::vector<std::string> expected;
  for (std::size_t at = 0, nl; (nl = names.find('\n', at)) != std::string::npos; at = nl + 1)
    expected.push_back(names.substr(at, nl - at));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(expected.size(), static_cast<std::size_t>(before + after));
  EXPECT_EQ(testing_spool::entries(dir), expected)
      << "the acknowledged tasks' files, and none of the failed ones";
  // Every record was committed: the in-flight ones too (and the local one), before the
  // master found their answers undeliverable and cancelled them.
  EXPECT_TRUE(testing_log::wait_for([&] {
    return spool_store::log_stats(dir).tasks >= before + in_flight + after + 1;
  })) << spool_store::log_stats(dir).tasks;
  // The node stops (its log released) and a spooler start recovers every slot: the cancelled
  // tasks are not written again.
  store.reset();
  task_log_options o;
  o.recover_unlocked = true;
  auto l = task_log::open(posix_log_env(), dir, o);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ((*l)->stats().recovery.materialized, 0u);
  EXPECT_EQ(testing_spool::entries(dir), expected) << "no cancelled task came back";
}

}  // namespace
}  // namespace brood::spooler
