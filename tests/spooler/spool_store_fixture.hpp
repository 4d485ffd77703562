#pragma once
// Shared by the spool store tests: a scratch directory per test, reading spool files back, and
// running a function in a forked child with a bounded wait.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "brood/spooler/spool_store.hpp"
#include "brood/wire/spool_file.hpp"
#include "temp_dir.hpp"

namespace brood::spooler::testing_spool {

struct decoded_task {
  bool ok = false;
  std::string why;
  wire::spool_vars vars;
  std::string body;
  bool checksummed = false;
};

inline decoded_task decode_task_file(const std::string& path) {
  decoded_task t;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    t.why = "cannot open " + path;
    return t;
  }
  const wire::bytes file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  wire::spool_file_view view;
  const wire::decode_result r = wire::decode_spool_file(file, view);
  if (!r.is_done()) {
    t.why = r.why;
    return t;
  }
  for (const wire::var& v : view.vars) t.vars.emplace_back(v.key, v.value);
  t.body.assign(wire::as_chars(view.body));
  t.checksummed = view.checksummed;
  t.ok = true;
  return t;
}

// Names in `dir` (not recursive), sorted. The task log's dirs (`.brood_log` and the file pool's
// `.brood_pool`, made by the first enqueue of a process into a spooler dir: docs/spool_format.md
// §9) are left out.
inline std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename() == ".brood_log" || e.path().filename() == ".brood_pool") continue;
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline std::string file_name_of(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

inline mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Forks; the child runs `body` and _exits with its result (stderr flushed). The parent waits at
// most `limit` (then SIGKILLs and reaps the child) and returns the wait status, or -1 if the
// fork failed. REQUIRES: a single-threaded caller.
inline int run_in_child(const std::function<int()>& body,
                        std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int rc = 1;
    try {
      rc = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: exception: %s\n", e.what());
    }
    std::fflush(nullptr);
    ::_exit(rc);
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    struct pollfd p {
      pidfd, POLLIN, 0
    };
    int n;
    do {
      n = ::poll(&p, 1, static_cast<int>(limit.count()));
    } while (n < 0 && errno == EINTR);
    ::close(pidfd);
    if (n == 0) ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

class spool_store_fixture : public ::testing::Test {
 protected:
  std::string under(const std::string& name) const { return root_ / name; }

  testing::temp_dir root_{"brood_spool_test_"};
};

}  // namespace brood::spooler::testing_spool
