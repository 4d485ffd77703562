#pragma once
// The base vassal's fork server (docs/uwsgi-compat.md §17; the protocol: brood/wire/
// fork_protocol.hpp). A node with `fork-server PATH` loads its Python code, then calls
// serve_fork_server() instead of binding sockets: it binds PATH and forks an adopted vassal for
// each request of its emperor. The function returns twice over the process's life: in the base
// when it must stop, and in every adopted vassal (the grandchild of a request), which goes on
// with the normal node start-up using the request's argv.
//
// Per request, in the base (single-threaded; one request at a time, each read bounded by
// `io_timeout`):
//  * the request is read with the peer's credentials (SO_PASSCRED) and up to max_fork_fds fds;
//    a peer whose uid is neither this process's (effective) uid nor root, a request without
//    credentials, too many fds (MSG_CTRUNC), a malformed header or body, EOF or a timeout is
//    refused: one log line "fork server: refused a request (peer pid P): WHY", every received
//    fd closed, the connection closed without a reply, and the base keeps serving;
//  * hooks.before_fork, fork, hooks.after_fork_parent; the base waits for that child (it exits
//    at once) and never for the grandchild; one log line "fork server: forked an adopted vassal
//    for ARGV0 ...".
// A slow client holds the base for at most io_timeout: signals and the emperor channel are
// handled once its request is refused or forked.
//
// The warm spare (options.spares = 1, the default; only with an emperor channel): the base keeps
// one adopted vassal forked ahead of any request, so that the fork, the intermediate child and
// the grandchild's settling are off the request's path. The spare is forked as below (hooks
// included), closes the base's fds as a grandchild does but the listening socket, waits to be
// re-parented to the emperor (PDEATHSIG set; _exit(1), logged, when its parent is not the
// emperor), then tells the base its pid over a SOCK_SEQPACKET socketpair ("fork server: spare
// ready (pid N)"). From then on the base stops accepting and the spare accepts on the listening
// socket itself, so that a request reaches it without a relay through the base: it reads and
// checks each request as the base does (a refusal is logged by the spare, which waits again);
// on a valid one it closes the listening socket, settles exactly as a grandchild does below and
// answers with ITS pid (a pid that existed before the request), then tells the base, which logs
// "fork server: adopted vassal pid N from the spare for ARGV0 ..." and accepts again. A request
// the base accepted before it read the spare's announcement, and any request without a ready
// spare (before the first one, right after one took a request, a spare that died: its end of
// the socketpair is watched, a dead spare forgotten and accepting resumed), is forked directly.
// The next spare is created options.spare_delay after one took a request or a request was forked
// directly, at start once PATH is bound, and spare_delay after a ready spare died; a spare that
// died before it was ready is retried only after the next request. Anything readable on the
// socketpair (EOF: the base stopped) ends a waiting spare with _exit(0). A directly forked
// vassal never holds a spare's socketpair.
//
// In the child: fork again and _exit(0), so the grandchild is re-parented to the emperor (a
// child subreaper). In the grandchild (the adopted vassal), before serve_fork_server returns:
//  * hooks.after_fork_child;
//  * the fork server's own fds closed (the listening socket, the base's emperor channel, the
//    loop's fds); other fds (the application's) are kept;
//  * UWSGI_EMPEROR_FD = the channel fd, UWSGI_EMPEROR_FD_CONFIG = the config fd (0x02; unset
//    without it), the on-demand socket dup'ed onto fd 0 (0x04), BROOD_INHERITED_SOCKETS = the
//    inherited socket fds, comma-separated (0x08; os/inherited_sockets.hpp; unset without
//    them); the fds these variables name are not close-on-exec (as an exec'd vassal's);
//    UWSGI_RELOADS and NOTIFY_SOCKET unset, then the environment changes (0x10) applied in order
//    (so the emperor's changes win); the signals as an exec would leave them: caught ones back
//    to their default, ignored ones still ignored (Python's SIGPIPE), but SIGCHLD always
//    default; an empty signal mask;
//  * the reply (pid=<getpid()>) written and the connection closed;
//  * once re-parented (getppid() no longer the intermediate child, waited up to 1 s):
//    PR_SET_PDEATHSIG SIGKILL, and if the parent is then not the base's parent (the emperor),
//    _exit(1): the emperor is gone. A reply that cannot be written: logged, _exit(1) (the
//    emperor never learnt the pid and falls back to exec).
// The base stops (returns exit_status) on SIGINT, SIGTERM, SIGQUIT, and on any byte or EOF on
// its own emperor channel (uWSGI's rule); a node started without an emperor serves until a
// signal. It sends ready (1) then loyal (17) on its emperor channel once PATH is bound. The
// socket file is removed when the base stops, unless another process bound PATH meanwhile.
// REQUIRES: single-threaded; UWSGI_EMPEROR_FD (if any) still in the environment (the base's
// channel is taken from it, emperor_link::from_environment).
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace brood::node {

struct fork_server_hooks {
  std::function<void()> before_fork;        // in the base, just before each fork
  std::function<void()> after_fork_parent;  // in the base, just after it
  std::function<void()> after_fork_child;   // in the adopted vassal, first thing
  // In a warm spare, before it says it is ready: work the vassal would do first after the
  // request (its copy-on-write page faults are then taken ahead of time, off the request's path).
  // Must leave no trace but memory: no fds, no output, no environment change.
  std::function<void()> spare_warm_up;
  // Instead of spare_warm_up in a spare that holds a pre-forked worker (below): that vassal's
  // master sets up no application host unless it forks a worker itself, so it rehearses less
  // (fewer private pages per vassal). Unset: spare_warm_up.
  std::function<void()> master_warm_up;
  // Around the spare's fork of its pre-forked worker (below): in the spare just before and just
  // after the fork, and first thing in the worker-to-be. The spare runs them with what
  // after_fork_child left (the host's interpreter lock held).
  std::function<void()> before_prefork;
  std::function<void()> after_prefork_parent;
  std::function<void()> after_prefork_child;
};

struct fork_server_result {
  // Set in an adopted vassal: the argv it runs with (argv[0] included).
  std::optional<std::vector<std::string>> adopted_argv;
  int exit_status = 0;  // in the base: 0 after a signal or an emperor byte, 1 after EOF (or a
                        // failed poll), 2 when PATH cannot be bound or the signals cannot be
                        // watched (logged)
};

struct fork_server_options {
  std::chrono::milliseconds io_timeout = std::chrono::seconds(4);  // per request, each read
  int spares = 1;  // 0: every request is forked directly; 1: one warm spare (above)
  // How long after handing out a spare (or a direct fork) the next spare is created.
  std::chrono::milliseconds spare_delay = std::chrono::milliseconds(100);
  // The spare forks its pre-forked worker (below); false: the vassal's master forks worker 1.
  // Only for a caller that runs run_node in the worker-to-be too (brood's CLI does).
  bool prefork = false;
};

fork_server_result serve_fork_server(const std::string& path, const fork_server_hooks& hooks,
                                     const fork_server_options& options);

// The pre-forked worker (options.prefork, with a spare). Once re-parented, the spare forks its
// worker-to-be (hooks.before_prefork / after_prefork_*; PR_SET_PDEATHSIG SIGKILL: it dies with
// the spare), then both warm up (hooks.spare_warm_up) and wait; the spare says it is ready only
// once the worker-to-be said so too (one byte on their link; none within 30 s or its death:
// logged, killed, worker 1 forked as usual). On a request the spare forwards
// it to the worker-to-be (the same bytes and fds; not when the request carries a config fd,
// which one reader only may consume: the worker-to-be is then dismissed), then settles as above;
// the worker-to-be exports the same fds and environment, writes no reply, and serve_fork_server
// returns the same argv in it too. From there both run the vassal's start-up side by side (the
// options parsed, the Python host set up) until run_node: the master binds its sockets, makes
// its scoreboard passable (memfds; for a node of the default shape, one worker without pressure
// or recycle events, the spare built that board ahead) and, when it starts worker 1 of
// generation 0, hands them to the worker-to-be instead of forking (one message), which serves as
// worker 1 as a forked worker does: the master's child, reaped, stopped, reloaded and respawned
// (by a normal fork) like any.
// While it waits for the hand-over the worker-to-be already runs the start of worker 1 that
// needs no socket (title, post-fork hooks, hooks.worker_start; a failure is its exit status once
// the hand-over came) and makes its cores; after it, only the scoreboard, sockets and signals.
// After parsing, both sides check prefork_unfit(config); when it says why not, the worker-to-be
// exits quietly and the master kills and reaps it ("fork server: pre-forked worker (pid N) not
// used: WHY; worker 1 is forked") and forks worker 1 as usual; likewise when the hand-over
// cannot be sent or the node ends without starting worker 1 at once.
// Pages written ahead: the first adopted worker 1 (after its first request) and master (after
// the hand-over) of a base record the pages they own alone, and the later spares and
// workers-to-be write those pages ahead before they say they are ready (fork_server_pages.hpp).

// True in a worker-to-be that got its request (until its hand-over).
bool is_preforked_worker() noexcept;
// True in the master that holds a pre-forked worker not handed over yet (nor dismissed).
bool holds_preforked_worker() noexcept;
// Why a node of `cfg` cannot use a pre-forked worker ("" when it can): a uid/gid (the
// worker-to-be could not honour it), hooks (they would run twice), a spooler, a legion,
// daemonize, chdir2.
struct node_config;
std::string prefork_unfit(const node_config& cfg);
// Master side: kills and reaps the pre-forked worker, logging `why`; nothing when none is held
// (or it was handed over).
void dismiss_preforked_worker(const std::string& why);
// The same with the default options but io_timeout.
fork_server_result serve_fork_server(
    const std::string& path, const fork_server_hooks& hooks,
    std::chrono::milliseconds io_timeout = std::chrono::seconds(4));

}  // namespace brood::node
