// The scoreboard a fork server's spare builds ahead (node/src/fork_server_prefork.hpp): taken
// only by the process that built it, while it holds a pre-forked worker, for a node of the default
// shape (one worker, no pressure or recycle events); dropped after the first take either way.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <utility>

#include "brood/node/fork_server.hpp"
#include "fork_server_prefork.hpp"
#include "fork_server_spare.hpp"
#include "scoreboard.hpp"

namespace brood::node::test {
namespace {

// This process as the master of a pre-forked worker: a child that waits to be killed, linked by
// a socketpair; the destructor dismisses it (killed and reaped) and the role ends.
class as_prefork_master {
 public:
  as_prefork_master() {
    auto link = spare_link();
    EXPECT_TRUE(link);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::pause();
      ::_exit(0);
    }
    EXPECT_GT(pid, 0);
    become_prefork_master(pid, std::move(link->first));
  }
  ~as_prefork_master() { dismiss_preforked_worker("the test ended"); }
  as_prefork_master(const as_prefork_master&) = delete;
  as_prefork_master& operator=(const as_prefork_master&) = delete;
};

TEST(fork_server_board_ahead, TheDefaultShapeTakesTheBoardBuiltAheadOnce) {
  as_prefork_master master;
  ASSERT_TRUE(holds_preforked_worker());
  build_board_ahead();
  std::unique_ptr<scoreboard> board = take_board_ahead(1, false, false);
  ASSERT_NE(board, nullptr);
  const scoreboard::shared_fds fds = board->shared();
  EXPECT_GE(fds.slots, 0);  // passable: memfds a pre-forked worker can map
  EXPECT_GE(fds.header, 0);
  EXPECT_LT(fds.pressure, 0);
  EXPECT_LT(fds.recycle, 0);
  EXPECT_EQ(fds.workers, 1u);
  EXPECT_EQ(take_board_ahead(1, false, false), nullptr);  // taken already
}

TEST(fork_server_board_ahead, AnotherShapeGetsNoneAndDropsIt) {
  as_prefork_master master;
  build_board_ahead();
  EXPECT_EQ(take_board_ahead(2, false, false), nullptr);
  EXPECT_EQ(take_board_ahead(1, false, false), nullptr);  // dropped by the first take
  build_board_ahead();
  EXPECT_EQ(take_board_ahead(1, true, false), nullptr);
  build_board_ahead();
  EXPECT_EQ(take_board_ahead(1, false, true), nullptr);
}

TEST(fork_server_board_ahead, WithoutAPreforkedWorkerNoneIsTaken) {
  ASSERT_FALSE(holds_preforked_worker());
  build_board_ahead();
  EXPECT_EQ(take_board_ahead(1, false, false), nullptr);
}

TEST(fork_server_board_ahead, AProcessForkedAfterTheBuildTakesNone) {
  as_prefork_master master;
  build_board_ahead();
  const pid_t child = ::fork();
  if (child == 0) {
    // The child holds no pre-forked worker either (the pair is its parent's); the board was
    // built by its parent, so it is not the child's to take even then.
    become_prefork_master(::getpid(), {});
    const bool none = take_board_ahead(1, false, false) == nullptr;
    ::_exit(none ? 0 : 1);
  }
  ASSERT_GT(child, 0);
  int status = -1;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(take_board_ahead(1, false, false), nullptr);  // still the parent's
}

}  // namespace
}  // namespace brood::node::test
