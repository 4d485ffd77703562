#include "spooler_task.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "brood/os/log.hpp"
#include "file_pool.hpp"

namespace brood::spooler {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

constexpr std::string_view failed_subdir = "failed";
constexpr std::string_view quarantine_subdir = "quarantine";
// While a task that used its last attempt is on its way to failed/, its rewritten file is dated
// this far ahead, so no other spooler process claims it in between.
constexpr auto failing_hold = 1h;

std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

long long to_ms(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string last_error_of(const spool_task& task) {
  for (const auto& [k, v] : task.vars)
    if (k == spool_key_last_error) return v;
  return "unknown";
}

}  // namespace

std::chrono::milliseconds retry_backoff(const spooler_config& cfg, unsigned failed_attempt) {
  auto d = cfg.retry_delay;
  for (unsigned i = 1; i < failed_attempt && i < 64 && d.count() > 0 && d < cfg.retry_max_delay;
       ++i)
    d *= 2;
  return std::min(d, cfg.retry_max_delay);
}

spool_vars with_attempt(const spool_vars& vars, unsigned next_attempt, const std::string& error) {
  spool_vars out = vars;
  auto set = [&out](std::string_view key, std::string value) {
    for (auto& [k, v] : out)
      if (k == key) {
        v = std::move(value);
        return;
      }
    out.emplace_back(std::string(key), std::move(value));
  };
  set(spool_key_attempt, std::to_string(next_attempt));
  set(spool_key_last_error, error);
  return out;
}

spool_task_runner::spool_task_runner(const spooler_config& cfg, const spool_store& store,
                                     spooler_board& board, std::size_t slot,
                                     const spool_handler& handler, std::string dir)
    : cfg_(cfg),
      store_(store),
      board_(board),
      slot_(slot),
      handler_(handler),
      dir_(std::move(dir)),
      prefix_("[spooler " + dir_ + " pid: " + std::to_string(::getpid()) + "]") {}

spool_task_runner::result spool_task_runner::run(spool_claim& c) {
  const spool_task& task = c.task;
  if (cfg_.max_attempts != 0 && task.attempt > cfg_.max_attempts)  // an interrupted failure
    return record_failure(c, last_error_of(task));
  if (!handler_) {
    os::log(prefix_, " unable to find the spooler function");
    c.fd.reset();
    return {outcome::ignored, {}};
  }
  const std::int64_t deadline =
      cfg_.harakiri.count() > 0 ? monotonic_ns() + cfg_.harakiri.count() * 1000000000LL : 0;
  board_.set_running(slot_, task.path, deadline);
  if (!cfg_.quiet) os::log(prefix_, " managing request ", task.name, " ...");
  const auto start = std::chrono::steady_clock::now();
  enter_task_dir();
  std::string error;
  const int code = call_handler(task, error);
  leave_task_dir();
  const result r = apply(c, code, error);
  if (r.what == outcome::done && !cfg_.quiet) {
    const auto took = std::chrono::steady_clock::now() - start;
    os::log(prefix_, " done with task ", task.name, " after ",
            std::chrono::duration_cast<std::chrono::seconds>(took).count(), " seconds");
  }
  if (r.what != outcome::ignored) board_.count_task(slot_);
  if (r.what == outcome::done) {
    // The done record now, while the file still has its name: a node killed before the file is
    // set aside leaves both, and recovery at its next start removes the file (log_recovery.hpp
    // step 2). The file is set aside later (retire_done), its lock held until then; on the board
    // too, so that a successor of this process alone never runs it again (recover_done).
    store_.task_done(task.path);
    const bool later = defer_ && board_.add_done(slot_, name_in_dir(task.path));
    done_.emplace_back(task.path, std::move(c.fd));
    if (!later && !retire_done()) {
      board_.clear_running(slot_);
      return {outcome::fatal, {}};
    }
  }
  board_.clear_running(slot_);
  c.fd.reset();
  return r;
}

std::string_view spool_task_runner::name_in_dir(std::string_view path) const {
  if (path.size() > dir_.size() + 1 && path.compare(0, dir_.size(), dir_) == 0 &&
      path[dir_.size()] == '/')
    return path.substr(dir_.size() + 1);
  return {};  // not under dir_: add_done refuses an empty name
}

void spool_task_runner::recover_done() {
  const std::vector<std::string> names = board_.done(slot_);
  board_.drop_done(slot_, names.size());  // those still there are added again
  for (const std::string& name : names) {
    spool_claim c = claim_spool_file(dir_ + "/" + name, dir_, time_point::max());
    if (c.status != claim_status::claimed && c.status != claim_status::corrupt) continue;
    os::log(prefix_, " task ", c.task.name,
            " was done when the previous spooler process died: setting it aside");
    (void)board_.add_done(slot_, name);
    done_.emplace_back(c.task.path, std::move(c.fd));
  }
  (void)retire_done();  // a file that cannot be deleted is logged; the next scan finds it
}

bool spool_task_runner::retire_done(std::size_t at_most) {
  std::size_t n = 0;
  for (; n < at_most && !done_.empty(); ++n) {
    auto& [path, fd] = done_.front();
    const retired r = retire_done_file(dir_, path, fd.get());
    if (r.err != 0 && r.err != ENOENT) {
      os::log(prefix_, " cannot delete the done task ", path, ": ", std::strerror(r.err),
              "; ending the spooler process");
      return false;  // still on the board: the successor tries again
    }
    // A pooled file is still linked (its last close frees nothing) and may be reused at once:
    // its lock goes now, so that a claim of its next task never finds it held. A removed
    // file's last close frees its inode: off the task path.
    if (r.err == 0 && !r.pooled) closer_.close_later(std::move(fd));
    done_.pop_front();
  }
  board_.drop_done(slot_, n);
  return true;
}

int spool_task_runner::call_handler(const spool_task& task, std::string& error) {
  try {
    const int code = handler_(task);
    if (classify_spool_result(code) == spool_result::retry)
      error = code == static_cast<int>(spool_result::retry)
                  ? "the handler returned SPOOL_RETRY"
                  : "the handler returned " + std::to_string(code);
    return code;
  } catch (const std::exception& e) {
    error = std::string("exception: ") + e.what();
  } catch (...) {
    error = "unknown exception";
  }
  return static_cast<int>(spool_result::retry);
}

spool_task_runner::result spool_task_runner::apply(spool_claim& c, int code,
                                                   const std::string& error) {
  switch (classify_spool_result(code)) {
    case spool_result::ok:
      return {outcome::done, {}};  // set aside by retire_done
    case spool_result::ignore:
      if (!cfg_.quiet)
        os::log(prefix_, " task ", c.task.name, " ignored by the handler: kept for the next scan");
      return {outcome::ignored, {}};
    case spool_result::retry:
      break;
  }
  return record_failure(c, error);
}

spool_task_runner::result spool_task_runner::record_failure(spool_claim& c,
                                                            const std::string& error) {
  const spool_task& task = c.task;
  const unsigned attempt = task.attempt;
  const spool_vars vars = with_attempt(task.vars, attempt + 1, error);
  const auto now = system_clock::now();
  if (cfg_.max_attempts != 0 && attempt >= cfg_.max_attempts) {
    if (auto st = store_.rewrite(task.path, vars, task.body, now + failing_hold); !st)
      os::log(prefix_, " cannot record the last error of task ", task.name, ": ", st.message);
    if (auto st = store_.move_aside(task.path, failed_subdir); !st) {
      os::log(prefix_, " task ", task.name, " failed ", std::min(attempt, cfg_.max_attempts),
              " attempts but cannot be moved to failed/: ", st.message);
      return {outcome::retry, now + failing_hold};
    }
    os::log(prefix_, " task ", task.name, " failed ", std::min(attempt, cfg_.max_attempts),
            " attempts, moved to ", dir_, "/", failed_subdir, "/; last error: ", error);
    return {outcome::failed, {}};
  }
  const auto delay = retry_backoff(cfg_, attempt);
  if (auto st = store_.rewrite(task.path, vars, task.body, now + delay); !st)
    os::log(prefix_, " cannot record attempt ", attempt, " of task ", task.name, ": ", st.message);
  os::log(prefix_, " task ", task.name, " failed (attempt ", attempt, "): ", error,
          "; next attempt in ", to_ms(delay), " ms");
  return {outcome::retry, now + delay};
}

void spool_task_runner::quarantine(spool_claim& c) {
  const auto st = store_.move_aside(c.task.path, quarantine_subdir);
  if (st)
    os::log(prefix_, " corrupt task file ", c.task.name, " (", c.why, "): moved to ", dir_, "/",
            quarantine_subdir, "/");
  else
    os::log(prefix_, " corrupt task file ", c.task.name, " (", c.why,
            "): cannot move it to quarantine: ", st.message);
  c.fd.reset();
}

void spool_task_runner::enter_task_dir() {
  if (!cfg_.chdir.empty() && ::chdir(cfg_.chdir.c_str()) != 0)
    os::log(prefix_, " cannot chdir to ", cfg_.chdir, ": ", std::strerror(errno));
}

void spool_task_runner::leave_task_dir() {
  if (!cfg_.chdir.empty() && ::chdir(dir_.c_str()) != 0)
    os::log(prefix_, " cannot chdir back to ", dir_, ": ", std::strerror(errno));
}

}  // namespace brood::spooler
