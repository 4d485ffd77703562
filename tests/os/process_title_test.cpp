// os::set_process_title in a forked child: the thread name (prctl) and, after
// init_process_title, the argv memory (what /proc/PID/cmdline shows).
#include "brood/os/process_title.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace brood::os {
namespace {

// Runs `body` in a child; true when it returned true.
template <class F>
bool in_child(F body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body() ? 0 : 1);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

TEST(process_title_test, SetsTheThreadNameAndTheCommandLine) {
  EXPECT_TRUE(in_child([] {
    // A copy of an argv block as the kernel lays it out: strings end to end.
    static char block[] = "prog\0--an-argument\0--another";
    char* argv[] = {block, block + 5, block + 19, nullptr};
    init_process_title(3, argv);
    set_process_title("uWSGI worker 12345");
    char name[17] = {};
    ::prctl(PR_GET_NAME, name, 0, 0, 0);
    return std::string(name) == "uWSGI worker 12" && std::string(block) == "uWSGI worker 12345" &&
           std::strcmp(argv[1], "--an-argument") == 0;  // moved, still readable
  }));
}

TEST(process_title_test, ATitleLongerThanTheRoomIsCut) {
  EXPECT_TRUE(in_child([] {
    static char block[] = "ab\0cd";
    char* argv[] = {block, block + 3, nullptr};
    init_process_title(2, argv);
    set_process_title("a long title");
    return std::string(block) == "a lon";
  }));
}

}  // namespace
}  // namespace brood::os
