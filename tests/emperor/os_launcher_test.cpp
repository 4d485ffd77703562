// os_launcher: real fork/exec of /bin/sh vassals and the control channel on an event_loop.
#include <sys/prctl.h>

#include <csignal>

#include <iterator>

#include "os_launcher_fixture.hpp"

namespace brood::emperor {
namespace {

TEST_F(os_launcher_test, BytesFromTheVassalArriveInOrderThenOneEof) {
  auto p = sh("printf '\\001\\021\\032' >&$UWSGI_EMPEROR_FD");
  const pid_t pid = p->pid();
  ASSERT_TRUE(run_until([&] { return rec_.closed.count(pid) > 0; }));
  std::vector<std::pair<pid_t, std::uint8_t>> want{{pid, 1}, {pid, 17}, {pid, 26}};
  EXPECT_EQ(rec_.messages, want);
  run_until([] { return false; }, 50ms);
  EXPECT_EQ(rec_.closed[pid], 1);
  const int status = wait_exit(pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(os_launcher_test, CommandsReachTheVassal) {
  const std::string out = dir_ / "out";
  auto p = sh("head -c 2 <&$UWSGI_EMPEROR_FD | od -An -tu1 > " + out);
  EXPECT_TRUE(p->send(wire::emperor_command::stop));
  EXPECT_TRUE(p->send(wire::emperor_command::reload));
  ASSERT_TRUE(WIFEXITED(wait_exit(p->pid())));
  std::istringstream words(read_file(out));
  std::vector<int> got{std::istream_iterator<int>(words), {}};
  EXPECT_EQ(got, (std::vector<int>{0, 1}));
  ASSERT_TRUE(run_until([&] { return rec_.closed.count(p->pid()) > 0; }));
  EXPECT_FALSE(p->send(wire::emperor_command::stop));  // the peer is gone
}

TEST_F(os_launcher_test, DestroyingTheHandleClosesTheChannel) {
  auto p = sh("cat <&$UWSGI_EMPEROR_FD >/dev/null; exit 7");
  const pid_t pid = p->pid();
  p.reset();
  const int status = wait_exit(pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  EXPECT_TRUE(rec_.closed.empty());
}

TEST_F(os_launcher_test, HandleMayBeDestroyedFromItsOwnCallback) {
  std::unique_ptr<vassal_process> p = sh("printf '\\001\\005\\021' >&$UWSGI_EMPEROR_FD");
  const pid_t pid = p->pid();
  rec_.on_first_message = [&] { p.reset(); };
  ASSERT_TRUE(run_until([&] { return !rec_.messages.empty(); }));
  run_until([] { return false; }, 50ms);
  EXPECT_EQ(rec_.messages.size(), 1u);
  EXPECT_TRUE(rec_.closed.empty());
  EXPECT_TRUE(WIFEXITED(wait_exit(pid)));
}

TEST_F(os_launcher_test, EnvironmentRulesAreApplied) {
  ::setenv("BROOD_TEST_KEEP", "k", 1);
  ::setenv("BROOD_TEST_DROP", "d", 1);
  ::setenv("BROOD_TEST_SAME", "s", 1);
  ::setenv("UWSGI_EMPEROR_FD", "999", 1);
  launch_spec spec;
  spec.name = "env.ini";
  const std::string out = dir_ / "env";
  spec.argv = {"/bin/sh", "-c", "env > " + out};
  spec.unset = {"BROOD_TEST_DROP"};
  spec.set = {"BROOD_TEST_KEEP=replaced", "BROOD_TEST_NEW=n", "UWSGI_EMPEROR_FD=5"};
  std::error_code ec;
  auto p = launcher_.launch(spec, ec);
  for (const char* k :
       {"BROOD_TEST_KEEP", "BROOD_TEST_DROP", "BROOD_TEST_SAME", "UWSGI_EMPEROR_FD"})
    ::unsetenv(k);
  ASSERT_NE(p, nullptr) << ec.message();
  ASSERT_TRUE(WIFEXITED(wait_exit(p->pid())));
  std::istringstream lines(read_file(out));
  std::map<std::string, std::vector<std::string>> env;
  for (std::string line; std::getline(lines, line);)
    env[line.substr(0, line.find('='))].push_back(line.substr(line.find('=') + 1));
  EXPECT_EQ(env["BROOD_TEST_KEEP"], std::vector<std::string>{"replaced"});
  EXPECT_EQ(env["BROOD_TEST_NEW"], std::vector<std::string>{"n"});
  EXPECT_EQ(env["BROOD_TEST_SAME"], std::vector<std::string>{"s"});
  EXPECT_EQ(env.count("BROOD_TEST_DROP"), 0u);
  ASSERT_EQ(env["UWSGI_EMPEROR_FD"].size(), 1u);
  EXPECT_GE(std::stoi(env["UWSGI_EMPEROR_FD"][0]), 3);
}

// /bin/sh keeps descriptors of its own (dash: fd 10), so the leaked fds are checked by number.
TEST_F(os_launcher_test, OnlyStdioAndTheChannelAreInherited) {
  const int leak = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(leak, 3);
  const int high_leak = 50;
  ASSERT_EQ(::dup2(leak, high_leak), high_leak);
  const std::string out = dir_ / "fds";
  auto p = sh("for fd in 0 1 2 $UWSGI_EMPEROR_FD " + std::to_string(leak) + " " +
              std::to_string(high_leak) + "; do [ -e /proc/$$/fd/$fd ] && echo $fd; done > " + out +
              "; echo $UWSGI_EMPEROR_FD >> " + out);
  ::close(leak);
  ::close(high_leak);
  ASSERT_TRUE(WIFEXITED(wait_exit(p->pid())));
  std::istringstream words(read_file(out));
  std::vector<int> open_fds{std::istream_iterator<int>(words), {}};
  ASSERT_EQ(open_fds.size(), 5u) << read_file(out);  // 0 1 2 channel, then the channel number
  const int channel = open_fds.back();
  EXPECT_EQ(open_fds, (std::vector<int>{0, 1, 2, channel, channel}));
  EXPECT_NE(channel, leak);
}

// The emperor blocks signals (signalfd) and may ignore some: a vassal starts with neither.
TEST_F(os_launcher_test, SignalMaskAndDispositionsAreReset) {
  sigset_t usr1, old;
  ::sigemptyset(&usr1);
  ::sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, &usr1, &old), 0);
  struct sigaction ignore {
  }, old_action{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGUSR2, &ignore, &old_action), 0);
  const std::string out = dir_ / "status";
  auto p = sh("exec grep -E '^Sig(Blk|Ign):' /proc/self/status > " + out);
  ::sigaction(SIGUSR2, &old_action, nullptr);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(WIFEXITED(wait_exit(p->pid())));
  std::istringstream lines(read_file(out));
  std::map<std::string, unsigned long long> masks;
  for (std::string key, hex; lines >> key >> hex;) masks[key] = std::stoull(hex, nullptr, 16);
  ASSERT_EQ(masks.size(), 2u) << read_file(out);
  EXPECT_EQ(masks["SigBlk:"], 0u);
  EXPECT_EQ(masks["SigIgn:"] & (1ull << (SIGUSR2 - 1)), 0u);
}

TEST_F(os_launcher_test, StdinFdBecomesFdZero) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  ASSERT_EQ(::write(pipe_fds[1], "hello\n", 6), 6);
  ::close(pipe_fds[1]);
  const std::string out = dir_ / "stdin";
  auto p = sh("cat > " + out, pipe_fds[0]);
  ::close(pipe_fds[0]);
  ASSERT_TRUE(WIFEXITED(wait_exit(p->pid())));
  EXPECT_EQ(read_file(out), "hello\n");
}

TEST_F(os_launcher_test, DefaultStdinIsDevNull) {
  const std::string out = dir_ / "stdin";
  auto p = sh("readlink /proc/$$/fd/0 > " + out);
  ASSERT_TRUE(WIFEXITED(wait_exit(p->pid())));
  EXPECT_EQ(read_file(out), "/dev/null\n");
}

TEST_F(os_launcher_test, ExecFailureExitsWith26) {
  launch_spec spec;
  spec.name = "missing.ini";
  spec.argv = {dir_ / "no-such-program"};
  std::error_code ec;
  auto p = launcher_.launch(spec, ec);
  ASSERT_NE(p, nullptr) << ec.message();
  const int status = wait_exit(p->pid());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 26);
  EXPECT_TRUE(run_until([&] { return rec_.closed.count(p->pid()) > 0; }));
}

TEST_F(os_launcher_test, EmptyArgvIsRefused) {
  std::error_code ec;
  EXPECT_EQ(launcher_.launch(launch_spec{}, ec), nullptr);
  EXPECT_TRUE(ec);
}

// The vassal gets SIGKILL when the process that launched it dies (PR_SET_PDEATHSIG). This test
// process becomes a subreaper so the orphaned vassal is reparented to it and can be reaped.
TEST_F(os_launcher_test, VassalDiesWithItsLauncher) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int pid_pipe[2];
  ASSERT_EQ(::pipe2(pid_pipe, O_CLOEXEC), 0);
  const pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {  // the short-lived "emperor"
    os::event_loop loop;
    recorder rec;
    os_launcher launcher{loop, rec};
    launch_spec spec;
    spec.name = "orphan.ini";
    spec.argv = {"/bin/sh", "-c", "printf '\\001' >&$UWSGI_EMPEROR_FD; exec sleep 30"};
    std::error_code ec;
    auto p = launcher.launch(spec, ec);
    if (!p) ::_exit(1);
    rec.on_first_message = [&] { loop.stop(); };  // the vassal runs: its death signal is armed
    loop.after(5s, [&] { loop.stop(); });
    (void)loop.run();
    const pid_t vassal = p->pid();
    if (::write(pid_pipe[1], &vassal, sizeof vassal) != sizeof vassal) ::_exit(3);
    ::_exit(rec.messages.empty() ? 2 : 0);
  }
  ::close(pid_pipe[1]);
  pid_t vassal = 0;
  const bool got = ::read(pid_pipe[0], &vassal, sizeof vassal) == sizeof vassal;
  ::close(pid_pipe[0]);
  const int middle_status = wait_exit(middle);
  int vassal_status = got ? wait_exit(vassal) : -1;
  if (got && vassal_status == -1) {  // still alive: do not leave it behind
    ::kill(vassal, SIGKILL);
    wait_exit(vassal);
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_TRUE(got);
  EXPECT_TRUE(WIFEXITED(middle_status) && WEXITSTATUS(middle_status) == 0) << middle_status;
  ASSERT_NE(vassal_status, -1) << "the vassal outlived its launcher";
  EXPECT_TRUE(WIFSIGNALED(vassal_status) && WTERMSIG(vassal_status) == SIGKILL) << vassal_status;
}

}  // namespace
}  // namespace brood::emperor
