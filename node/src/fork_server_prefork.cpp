// The pre-forked worker's two sides (fork_server_prefork.hpp) and the public checks of
// brood/node/fork_server.hpp.
#include "fork_server_prefork.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

#include "brood/node/fork_server.hpp"
#include "brood/os/fd_passing.hpp"
#include "brood/os/inherited_sockets.hpp"
#include "brood/os/log.hpp"
#include "brood/os/step_trace.hpp"
#include "emperor_link.hpp"
#include "fork_server_pages.hpp"
#include "os_master_launcher.hpp"
#include "scoreboard.hpp"
#include "worker_process.hpp"

namespace brood::node {
namespace {

enum class role { none, master, worker };

// The process's side of the pair; `owner` is the pid that set it (a process forked from the
// owner sees no pair).
struct prefork_state {
  role side = role::none;
  pid_t owner = 0;
  pid_t worker = -1;  // master side: the worker-to-be
  os::unique_fd link;
};

prefork_state& state() {
  static prefork_state s;
  return s;
}

// The scoreboard the spare built ahead (build_board_ahead) and the pid that built it.
struct prefork_board_ahead {
  pid_t owner = 0;
  std::unique_ptr<scoreboard> board;
};

prefork_board_ahead& board_ahead() {
  static prefork_board_ahead b;
  return b;
}

role my_role() noexcept {
  const prefork_state& s = state();
  return s.owner == ::getpid() ? s.side : role::none;
}

void forget() noexcept {
  prefork_state& s = state();
  s.link.reset();
  s.side = role::none;
  s.worker = -1;
}

}  // namespace

void become_prefork_master(pid_t worker, os::unique_fd link) {
  prefork_state& s = state();
  s = prefork_state{role::master, ::getpid(), worker, std::move(link)};
}

void become_prefork_worker(os::unique_fd link) {
  prefork_state& s = state();
  s = prefork_state{role::worker, ::getpid(), -1, std::move(link)};
}

void build_board_ahead() {
  prefork_board_ahead& b = board_ahead();
  try {
    b.board = std::make_unique<scoreboard>(1, false, false, true);
    b.owner = ::getpid();
  } catch (const std::system_error& e) {
    os::log("fork server spare: no scoreboard built ahead: ", e.what());
  }
}

std::unique_ptr<scoreboard> take_board_ahead(std::size_t workers, bool pressure, bool recycle) {
  prefork_board_ahead& b = board_ahead();
  std::unique_ptr<scoreboard> board = std::move(b.board);
  const bool mine = b.owner == ::getpid();
  b.owner = 0;
  if (!mine || !holds_preforked_worker() || workers != 1 || pressure || recycle) return nullptr;
  return board;
}

bool holds_preforked_worker() noexcept { return my_role() == role::master; }

bool is_preforked_worker() noexcept { return my_role() == role::worker; }

std::string prefork_unfit(const node_config& cfg) {
  if (!cfg.process.uid.empty() || !cfg.process.gid.empty()) return "uid/gid set";
  for (const auto& points : cfg.process.hooks)
    if (!points.empty()) return "hooks (hook-*, exec-*) would run twice";
  if (cfg.spooler.any()) return "spooler";
  if (!cfg.legion.legions.empty()) return "legion";
  if (cfg.log.daemonize) return "daemonize";
  if (!cfg.process.chdir2.empty()) return "chdir2";
  return {};
}

void dismiss_preforked_worker(const std::string& why) {
  if (my_role() != role::master) return;
  written_ahead::close_area();  // no hand-over: nothing to record
  prefork_state& s = state();
  const pid_t pid = s.worker;
  forget();  // EOF on its link
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  os::log("fork server: pre-forked worker (pid ", pid, ") not used: ", why, "; worker 1 is forked");
}

pid_t hand_to_preforked_worker(const std::vector<int>& listen_fds, const scoreboard& board) {
  if (my_role() != role::master) return -1;
  const scoreboard::shared_fds b = board.shared();
  if (b.slots < 0 || b.header < 0) {
    dismiss_preforked_worker("the scoreboard cannot be passed");
    return -1;
  }
  prefork_handover h;
  h.workers = static_cast<std::uint32_t>(b.workers);
  h.listen_fds = static_cast<std::uint32_t>(listen_fds.size());
  h.pressure = b.pressure >= 0;
  h.recycle = b.recycle >= 0;
  std::vector<int> fds{b.slots, b.header};
  if (h.pressure) fds.push_back(b.pressure);
  if (h.recycle) fds.push_back(b.recycle);
  fds.insert(fds.end(), listen_fds.begin(), listen_fds.end());
  if (fds.size() > 253) {
    dismiss_preforked_worker("too many listening sockets to pass");
    return -1;
  }
  prefork_state& s = state();
  const os::status st = os::send_with_fds(
      s.link.get(), std::string_view(reinterpret_cast<const char*>(&h), sizeof h), fds);
  if (!st.ok()) {
    dismiss_preforked_worker("the hand-over failed: " + st.message());
    return -1;
  }
  os::step_trace("master.handover");
  const pid_t pid = s.worker;
  forget();
  os::log("worker 1 (pid ", pid, ") pre-forked by the fork server's spare: handed ",
          listen_fds.size(), " socket", listen_fds.size() == 1 ? "" : "s", " and the scoreboard");
  written_ahead::record_master_once();
  return pid;
}

void serve_preforked_worker(const node_config& cfg, const router& r, const node_hooks& hooks) {
  os::set_log_role("worker 1");
  // What needs neither the sockets nor the scoreboard is done before the hand-over, off the
  // path (its title, post-fork hooks, hooks.worker_start); a failure is reported once the
  // hand-over came, so that the master sees worker 1 fail as a forked one does.
  std::optional<int> failed_start;
  try {
    failed_start = start_worker_process(cfg, hooks, 1);
    if (!failed_start) prepare_worker_cores(cfg, r);
  } catch (const std::exception& e) {
    os::log("process body failed: ", e.what());
    failed_start = 1;
  }
  emperor_link emperor = emperor_link::from_environment();
  os::step_trace("worker.prepared");
  prefork_state& s = state();
  char buffer[sizeof(prefork_handover) + 1];
  auto got = os::receive_with_fds(s.link.get(), buffer, 253);
  if (!got || got->size == 0) ::_exit(0);  // dismissed, or the master is gone
  os::step_trace("worker.handover");
  auto fail = [](const std::string& why) {
    os::log("pre-forked worker: ", why, "; exiting");
    std::fflush(nullptr);
    ::_exit(1);
  };
  prefork_handover h;
  if (got->size != sizeof h || got->fds_truncated) fail("a hand-over of the wrong size");
  std::memcpy(&h, buffer, sizeof h);
  const std::size_t board_fds = 2u + h.pressure + h.recycle;
  if (h.magic != prefork_handover{}.magic || h.workers == 0 ||
      got->fds.size() != board_fds + h.listen_fds)
    fail("a malformed hand-over");
  s.link.reset();
  forget();
  std::vector<os::unique_fd>& fds = got->fds;
  std::size_t next = 0;
  os::unique_fd slots = std::move(fds[next++]);
  os::unique_fd header = std::move(fds[next++]);
  os::unique_fd pressure, recycle;
  if (h.pressure) pressure = std::move(fds[next++]);
  if (h.recycle) recycle = std::move(fds[next++]);
  std::vector<int> listen;
  for (; next < fds.size(); ++next) listen.push_back(fds[next].release());
  std::unique_ptr<scoreboard> board;
  try {
    board = std::make_unique<scoreboard>(h.workers, std::move(slots), std::move(header),
                                         std::move(pressure), std::move(recycle));
  } catch (const std::system_error& e) {
    fail(e.what());
  }
  // As a forked worker: its master's death kills it only with no-orphans (serve_worker_process).
  ::prctl(PR_SET_PDEATHSIG, 0);
  os::inherited_sockets::of_process().close_leftovers();
  board->claim(1);
  written_ahead::may_record();
  os::step_trace("worker.board");
  if (cfg.process.no_orphans) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  int status = 1;
  try {
    status = failed_start ? *failed_start : run_worker_process(cfg, r, listen, emperor, 1);
  } catch (const std::exception& e) {
    os::log("process body failed: ", e.what());
  }
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace brood::node
