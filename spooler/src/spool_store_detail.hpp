#pragma once
// The spool store's internals shared by its two source files (not part of its public face):
// spool_store.cpp, the enqueue and write side (requests checked, encoded and written), and
// spool_store_log.cpp, the task-log side (making the store, its task logs, their server and the
// shared counters). Helpers for messages and paths, and the store's `logs`.
#include <sys/types.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "brood/spooler/spool_store.hpp"
#include "log_server.hpp"
#include "process_id.hpp"
#include "spool_fs.hpp"
#include "task_log.hpp"

namespace brood::spooler {
namespace store_detail {

inline spool_status fail(spool_errc e, std::string message) {
  return {make_error_code(e), std::move(message), {}};
}
inline spool_status write_failure(spool_fs::fs_status s) {
  return fail(spool_errc::write_failed, std::move(s.message));
}

// A value for a message: quoted, cut after 64 bytes.
inline std::string quoted(std::string_view v) {
  constexpr std::size_t shown = 64;
  std::string q = "\"";
  q.append(v.substr(0, shown)).append(v.size() > shown ? "...\"" : "\"");
  return q;
}

inline const std::string* find_value(const spool_vars& vars, std::string_view key) noexcept {
  for (const auto& [k, v] : vars) {
    if (k == key) return &v;
  }
  return nullptr;
}

inline bool all_digits(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

inline std::optional<std::string> real_path(const std::string& p) {
  std::unique_ptr<char, decltype(&std::free)> rp(::realpath(p.c_str(), nullptr), &std::free);
  if (!rp) return std::nullopt;
  return std::string(rp.get());
}

}  // namespace store_detail

// This process's task logs, opened lazily. A forked child finds its parent's logs here (same
// pid check as spool_name.cpp): it must not use them (their checkpointer thread is the
// parent's) nor destroy them, so it forgets them (leaked) and opens its own.
// With spool_store_options::shared_log, the process that made the store serves its logs to the
// processes it forks (log_server.hpp); `server_name` and `server_pid` stay readable there.
struct spool_store::logs {
  std::mutex mu;
  pid_t pid = current_pid();
  std::map<std::string, std::unique_ptr<task_log>> open;
  std::set<std::string> failed;  // dirs whose log could not be opened (logged once)
  // What publish() added to the shared counters; its mutex is not `mu`: the server's threads
  // take it (a child replaces both, see forget()).
  std::unique_ptr<std::mutex> publish_mu = std::make_unique<std::mutex>();
  std::map<std::string, task_log_stats> seen;
  std::unique_ptr<log_server> server;  // the owner's; dropped (leaked) in a child
  std::string server_name;             // "" without a server
  pid_t server_pid = 0;

  ~logs() {
    if (pid != current_pid()) {
      forget();
    } else {
      server.reset();  // its threads use the logs: stopped first
    }
  }
  // In a forked child: nothing of the parent's logs, server or publish lock is used again.
  void forget() {
    for (auto& [dir, log] : open) (void)log.release();
    open.clear();
    failed.clear();
    seen.clear();
    if (server) {
      server->drop_in_child();
      (void)server.release();
    }
    (void)publish_mu.release();  // may have been held by a server thread at the fork
    publish_mu = std::make_unique<std::mutex>();
  }
  // REQUIRES: mu held.
  void check_pid() {
    if (pid != current_pid()) {
      forget();
      pid = current_pid();
    }
  }
  // The log of `dir` in this process, or null when it cannot be opened. REQUIRES: mu held.
  task_log* get(const std::string& dir, const spool_store_options& opts, bool recover_unlocked,
                std::string* summary);
};

}  // namespace brood::spooler
