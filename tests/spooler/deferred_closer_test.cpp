// deferred_closer: descriptors are closed on its thread, once per batch or when kicked, and
// every queued one is closed by the destructor at the latest.
#include "deferred_closer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <vector>

namespace brood::spooler {
namespace {

struct pipe_pair {
  os::unique_fd read, write;
};

pipe_pair make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  return {os::unique_fd(fds[0]), os::unique_fd(fds[1])};
}

// True once the write end of `read`'s pipe is closed (bounded: 30 s).
bool closed(const os::unique_fd& read) {
  pollfd p{read.get(), POLLIN, 0};
  return ::poll(&p, 1, 30000) == 1 && (p.revents & POLLHUP);
}

TEST(deferred_closer, a_kick_closes_what_waits) {
  deferred_closer c;
  pipe_pair p = make_pipe();
  ASSERT_TRUE(p.read && p.write);
  c.close_later(std::move(p.write));
  c.kick();
  EXPECT_TRUE(closed(p.read));
}

TEST(deferred_closer, a_full_batch_closes_without_a_kick) {
  deferred_closer c;
  std::vector<os::unique_fd> reads;
  for (std::size_t i = 0; i < deferred_closer::batch; ++i) {
    pipe_pair p = make_pipe();
    ASSERT_TRUE(p.read && p.write);
    reads.push_back(std::move(p.read));
    c.close_later(std::move(p.write));
  }
  for (const auto& r : reads) EXPECT_TRUE(closed(r));
}

TEST(deferred_closer, the_destructor_closes_the_rest) {
  pipe_pair p = make_pipe();
  ASSERT_TRUE(p.read && p.write);
  {
    deferred_closer c;
    c.close_later(std::move(p.write));
  }
  pollfd q{p.read.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&q, 1, 0), 1);
  EXPECT_TRUE(q.revents & POLLHUP);
}

}  // namespace
}  // namespace brood::spooler
