// shared_views: what a node's workers read of its legions (uwsgi.i_am_the_lord, lord_scroll,
// scrolls, legion_epoch), written by the master's legion threads through a seqlock per legion,
// read by processes forked after the mapping was made.
#include "brood/legion/shared_views.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "eventually.hpp"

namespace brood::legion {
namespace {

using brood::testing::eventually;
using namespace std::chrono_literals;

member_view peer(const std::string& addr, const std::string& scroll, bool alive) {
  member_view m;
  m.address = addr;
  m.uuid = "uuid-" + addr;
  m.scroll = scroll;
  m.alive = alive;
  return m;
}

legion_view lord_view(std::uint64_t epoch, const std::string& scroll) {
  legion_view v;
  v.legion = "web";
  v.i_am_the_lord = true;
  v.epoch = epoch;
  v.uuid = "me";
  v.lord_uuid = "me";
  v.scroll = scroll;
  v.lord_scroll = scroll;
  return v;
}

shared_views make(const std::vector<std::string>& names, std::size_t scroll_max = 4096,
                  std::size_t list_max = 32768) {
  shared_views v;
  const os::status st = shared_views::create(names, scroll_max, list_max, v);
  EXPECT_TRUE(st.ok()) << st.message();
  return v;
}

// Runs `child` in a forked process; its return value is the exit status.
int in_child(const std::function<int()>& child) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(child());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(shared_views_test, UnknownNameIsNulloptAndUnpublishedIsNoLord) {
  shared_views sv = make({"web", "db"});
  EXPECT_EQ(sv.names(), (std::vector<std::string>{"web", "db"}));
  EXPECT_FALSE(sv.read("nope").has_value());
  const auto v = sv.read("db");
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(v->i_am_the_lord);
  EXPECT_EQ(v->epoch, 0u);
  EXPECT_EQ(v->lord_scroll, "");
  EXPECT_TRUE(v->scrolls.empty());
}

TEST(shared_views_test, DefaultConstructedHoldsNothing) {
  shared_views sv;
  EXPECT_FALSE(sv.read("web").has_value());
  EXPECT_TRUE(sv.names().empty());
  sv.publish("web", lord_view(1, "x"));  // ignored
}

TEST(shared_views_test, LordSeesItsOwnScrollFirstThenAlivePeersWithAScroll) {
  shared_views sv = make({"web"});
  legion_view v = lord_view(7, "alpha");
  v.members = {peer("127.0.0.1:2", "beta", true), peer("127.0.0.1:3", "gamma", false),
               peer("127.0.0.1:4", "", true), peer("127.0.0.1:5", "delta", true)};
  sv.publish("web", v);
  const auto r = sv.read("web");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->i_am_the_lord);
  EXPECT_EQ(r->epoch, 7u);
  EXPECT_EQ(r->lord_scroll, "alpha");
  EXPECT_EQ(r->scrolls, (std::vector<std::string>{"alpha", "beta", "delta"}));
}

TEST(shared_views_test, FollowerSeesTheLordsScrollAndNoLordMeansNone) {
  shared_views sv = make({"web"});
  legion_view v;
  v.legion = "web";
  v.epoch = 3;
  v.scroll = "beta";
  v.lord_uuid = "other";
  v.lord_scroll = "alpha";
  v.members = {peer("127.0.0.1:1", "alpha", true)};
  sv.publish("web", v);
  auto r = sv.read("web");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->i_am_the_lord);
  EXPECT_EQ(r->epoch, 3u);
  EXPECT_EQ(r->lord_scroll, "alpha");
  EXPECT_EQ(r->scrolls, (std::vector<std::string>{"beta", "alpha"}));

  v.lord_uuid.clear();  // the lord is gone: its scroll no longer shown (as uWSGI: None)
  v.members[0].alive = false;
  sv.publish("web", v);
  r = sv.read("web");
  EXPECT_EQ(r->lord_scroll, "");
  EXPECT_EQ(r->scrolls, (std::vector<std::string>{"beta"}));
  EXPECT_EQ(r->epoch, 3u);
}

TEST(shared_views_test, LongScrollsAreCutToTheConfiguredSizes) {
  shared_views sv = make({"web"}, 5, 20);
  legion_view v = lord_view(1, "0123456789");
  v.members = {peer("127.0.0.1:2", "abc", true), peer("127.0.0.1:3", "defg", true)};
  sv.publish("web", v);
  const auto r = sv.read("web");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->lord_scroll, "01234");
  // 4+10 bytes for our own, then 4+3 would pass 20: the list stops there.
  EXPECT_EQ(r->scrolls, (std::vector<std::string>{"0123456789"}));
}

TEST(shared_views_test, EmptyOrOverlongNamesAreRefused) {
  shared_views sv;
  os::status st = shared_views::create({""}, 10, 10, sv);
  EXPECT_FALSE(st.ok());
  st = shared_views::create({std::string(300, 'n')}, 10, 10, sv);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("longer than 256"), std::string::npos) << st.message();
}

TEST(shared_views_test, MovedFromIsEmptyAndTheTargetReads) {
  shared_views a = make({"web"});
  a.publish("web", lord_view(2, "s"));
  shared_views b = std::move(a);
  EXPECT_FALSE(a.read("web").has_value());  // NOLINT(bugprone-use-after-move): specified empty
  ASSERT_TRUE(b.read("web").has_value());
  EXPECT_EQ(b.read("web")->epoch, 2u);
  shared_views c = make({"db"});
  c = std::move(b);
  EXPECT_EQ(c.names(), (std::vector<std::string>{"web"}));
}

TEST(shared_views_test, ForkedChildSeesWhatThePublisherWritesBeforeAndAfterTheFork) {
  shared_views sv = make({"web"});
  sv.publish("web", lord_view(1, "one"));
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const auto first = sv.read("web");
    if (!first || first->epoch != 1 || first->lord_scroll != "one" || !first->i_am_the_lord)
      ::_exit(1);
    if (::write(ready[1], "r", 1) != 1) ::_exit(4);
    // The parent publishes epoch 2 (no longer lord) after the fork.
    const bool seen = eventually(
        [&] {
          const auto r = sv.read("web");
          return r && r->epoch == 2 && !r->i_am_the_lord && r->lord_scroll == "two";
        },
        20s, 1ms);
    ::_exit(seen ? 0 : 2);
  }
  ::close(ready[1]);
  char c = 0;
  const bool child_read = ::read(ready[0], &c, 1) == 1;  // EOF (0) when the child ended early
  ::close(ready[0]);
  legion_view v = lord_view(2, "mine");
  v.i_am_the_lord = false;
  v.lord_uuid = "other";
  v.lord_scroll = "two";
  sv.publish("web", v);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(child_read);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(shared_views_test, ALordsDeadlinePassedReadsAsNotLordWithoutANewPublish) {
  shared_views sv = make({"web", "db"});
  const auto start = std::chrono::steady_clock::now();
  sv.publish("web", lord_view(3, "s"), start + 100ms);
  sv.publish("db", lord_view(1, "d"));  // no deadline: lord until the next publish
  const auto r = sv.read("web");
  ASSERT_TRUE(r.has_value());
  if (std::chrono::steady_clock::now() < start + 100ms) {
    EXPECT_TRUE(r->i_am_the_lord);
  }
  // A forked reader (as a worker) sees the deadline pass too.
  const int child = in_child(
      [&] { return eventually([&] { return !sv.read("web")->i_am_the_lord; }, 20s, 1ms) ? 0 : 1; });
  EXPECT_EQ(child, 0);
  EXPECT_GE(std::chrono::steady_clock::now(), start + 100ms);
  const auto after = sv.read("web");
  EXPECT_FALSE(after->i_am_the_lord);
  EXPECT_EQ(after->epoch, 3u);  // the rest of the view stays
  EXPECT_EQ(after->lord_scroll, "s");
  EXPECT_TRUE(sv.read("db")->i_am_the_lord);
  // A renewal pushes the deadline on.
  sv.publish("web", lord_view(3, "s"), std::chrono::steady_clock::now() + 60s);
  EXPECT_TRUE(sv.read("web")->i_am_the_lord);
}

// A view whose fields all derive from k: a torn read would mix two k.
legion_view numbered(std::uint64_t k) {
  const std::string s(1 + k % 3000, static_cast<char>('a' + k % 26));
  legion_view v = lord_view(k, s);
  v.i_am_the_lord = k % 2 == 0;
  v.members = {peer("127.0.0.1:2", std::to_string(k), true)};
  return v;
}

bool consistent(const shared_view& r) {
  const std::uint64_t k = r.epoch;
  if (k == 0) return r.lord_scroll.empty() && r.scrolls.empty();
  const legion_view want = numbered(k);
  return r.i_am_the_lord == want.i_am_the_lord && r.lord_scroll == want.lord_scroll &&
         r.scrolls == (std::vector<std::string>{want.scroll, std::to_string(k)});
}

TEST(shared_views_test, ReadersNeverSeeATornViewWhileTheWriterRuns) {
  shared_views sv = make({"web", "db"});
  // A reader in another process (as a worker), forked before the writer thread exists (a fork
  // of a multithreaded process may inherit a lock held by the other thread: ASan's allocator
  // then hangs the child), and a thread of this one. The child waits for the first publication,
  // then reads until it saw the writer move on a few times (bounded).
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::uint64_t last = 0;
    int changes = 0;
    const auto end = std::chrono::steady_clock::now() + 20s;
    for (int i = 0; i < 20000 || (changes < 3 && std::chrono::steady_clock::now() < end); ++i) {
      const auto r = sv.read("web");
      if (!r || !consistent(*r) || r->epoch < last) ::_exit(1);
      if (r->epoch == 0 && std::chrono::steady_clock::now() < end) {
        --i;  // not published yet
        continue;
      }
      changes += r->epoch != last ? 1 : 0;
      last = r->epoch;
    }
    ::_exit(changes >= 3 ? 0 : 3);
  }
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::uint64_t k = 1; !done.load(); ++k) sv.publish("web", numbered(k));
  });
  ASSERT_TRUE(eventually([&] { return sv.read("web")->epoch > 0; }));
  std::uint64_t last = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto r = sv.read("web");
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(consistent(*r)) << "torn read at epoch " << r->epoch;
    ASSERT_GE(r->epoch, last);
    last = r->epoch;
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);  // the writer runs until the child is done
  done = true;
  writer.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_EQ(sv.read("db")->epoch, 0u);  // the other slot untouched
}

}  // namespace
}  // namespace brood::legion
