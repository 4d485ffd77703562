#pragma once
// The fork server's pre-forked worker (brood/node/fork_server.hpp, "The pre-forked worker"): the
// warm spare forks its worker-to-be ahead of any request; on a request both parse the vassal's
// options and set up its Python host side by side, then the spare (the vassal's master) binds the
// sockets and hands them with its scoreboard to the worker-to-be, which serves as worker 1
// without a fork on the request's path.
//
// Process-global state, set once per process by the fork server (become_*) and only read in that
// process (a process forked from it sees none). Messages on the pair's SOCK_SEQPACKET link:
//   spare -> worker-to-be  the request, as the base sends it to the spare (fork_server_spare.hpp)
//   master -> worker       one hand-over: a prefork_handover, then the fds (SCM_RIGHTS): the
//                          scoreboard's slots and header memfds, its pressure and recycle eventfds
//                          (when the header says so), then the listening sockets in the node's
//                          order
// and EOF when the master dismisses its worker-to-be (it exits with 0).
// Single-threaded callers.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brood/node/config.hpp"
#include "brood/node/node.hpp"
#include "brood/node/router.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::node {

class scoreboard;

// The hand-over's header (host byte order: both ends are one machine, one binary).
struct prefork_handover {
  std::uint32_t magic = 0x62726f64;  // "brod"
  std::uint32_t workers = 0;         // the scoreboard's slots
  std::uint32_t listen_fds = 0;      // listening sockets after the board's fds
  std::uint8_t pressure = 0;         // 1: the pressure eventfd follows the header memfd
  std::uint8_t recycle = 0;          // 1: the recycle eventfd follows
};

// In the spare, once it forwarded its request to its worker-to-be `worker` over `link`: this
// process is the master of a pre-forked worker.
void become_prefork_master(pid_t worker, os::unique_fd link);
// In the worker-to-be once it got its request: this process waits for its master's hand-over.
void become_prefork_worker(os::unique_fd link);

// Master side, in the spare before its request (its worker-to-be forked): builds the passable
// scoreboard of a node's default shape (one worker, no pressure or recycle events) ahead, so that
// a vassal of that shape finds its board made: its memfds, mappings and first-touch faults
// (~0.2 ms of CPU here, bench/RESULTS.md issue 14) happen off the request's path. A failure is
// logged; the master then builds its board as usual.
void build_board_ahead();
// Master side: the board built ahead by this process when it holds a pre-forked worker and the
// vassal's board has that shape (`workers` slots, `pressure` and `recycle` events); null
// otherwise. The board ahead is dropped either way (one call per process is enough).
std::unique_ptr<scoreboard> take_board_ahead(std::size_t workers, bool pressure, bool recycle);

// Master side: a pre-forked worker is held and not handed over yet.
bool holds_preforked_worker() noexcept;
// Master side: hands `listen_fds` and `board` (made passable) to the pre-forked worker, which
// serves as worker 1 from now on; its pid. -1 (logged, the worker-to-be killed and reaped) when
// the hand-over cannot be sent or none is held: the caller forks worker 1 as usual.
pid_t hand_to_preforked_worker(const std::vector<int>& listen_fds, const scoreboard& board);

// Worker side (run_node of the worker-to-be): waits for the master's hand-over and serves as
// worker 1 (as a forked worker does); never returns: _exit with the worker's status, 0 when the
// master dismissed it (EOF), 1 (logged) on a hand-over it cannot use.
[[noreturn]] void serve_preforked_worker(const node_config& cfg, const router& r,
                                         const node_hooks& hooks);

}  // namespace brood::node
