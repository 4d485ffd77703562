#include "sync_engine.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <vector>

#include "brood/client/client.hpp"
#include "errors.hpp"
#include "pool.hpp"

namespace brood::client {
namespace {

std::atomic<interrupt_check> interrupt_check_{nullptr};  // set_interrupt_check (client.hpp)

}  // namespace

void set_interrupt_check(interrupt_check check) noexcept {
  interrupt_check_.store(check, std::memory_order_release);
}

}  // namespace brood::client

namespace brood::client::detail {
namespace {

using clock = std::chrono::steady_clock;
using phase = sync_call::phase;

// A unix connect that finds the backlog full (EAGAIN) is tried again after this long.
constexpr int connect_again_ms = 1;

// Per-thread state of the engine, reused from call to call so a call allocates nothing here.
struct thread_state {
  endpoint_cache endpoints;
  std::vector<pollfd> pfds;
  std::vector<sync_call*> polled;
};

thread_state& state() {
  thread_local thread_state s;
  return s;
}

bool peer_gone(int err) { return err == EPIPE || err == ECONNRESET; }

class engine {
 public:
  engine(std::span<sync_call> calls, std::chrono::milliseconds timeout)
      : calls_(calls), timeout_(timeout), deadline_(clock::now() + timeout), ts_(state()) {}

  void run() {
    for (sync_call& c : calls_) {
      if (c.state == phase::start && !c.error) {
        ++active_;
        begin(c);
      } else {
        c.state = phase::done;
      }
    }
    while (active_ > 0 && wait_and_dispatch()) {
    }
  }

 private:
  void begin(sync_call& c) {
    c.reply->clear();
    if (auto err = ts_.endpoints.get(c.address, c.ep)) return fail(c, std::move(*err));
    if (!c.one_shot) c.fd = thread_pool().take(c.address);
    if (c.fd) {
      c.reused = true;
      return write(c);
    }
    connect_fresh(c);
  }

  void connect_fresh(sync_call& c) {
    int err = start_connect(c.ep, c.fd);
    if (err == 0) return write(c);
    if (err == EINPROGRESS) {
      c.state = phase::connecting;
    } else if ((err == EAGAIN || err == EWOULDBLOCK) && !c.ep.tcp) {
      c.state = phase::connect_again;  // unix backlog full: try again shortly
    } else {
      fail(c, connect_error(c.address, err));
    }
  }

  // The peer closed a reused idle connection before answering: try once more on a fresh one.
  bool retry(sync_call& c) {
    if (!c.reused || c.retried) return false;
    c.reused = false;
    c.retried = true;
    c.fd.reset();
    c.written = 0;
    c.reply->clear();
    connect_fresh(c);
    return true;
  }

  void write(sync_call& c) {
    c.state = phase::writing;
    while (c.written < c.request.size()) {
      ssize_t n = ::send(c.fd.get(), c.request.data() + c.written, c.request.size() - c.written,
                         MSG_NOSIGNAL);
      if (n >= 0) {
        c.written += static_cast<std::size_t>(n);
        continue;
      }
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return;  // wait for POLLOUT
      if (peer_gone(err) && retry(c)) return;
      return fail(c, io_error(c.address, err));
    }
    c.state = phase::reading;
  }

  void read(sync_call& c) {
    for (;;) {
      std::span<wire::byte> space = c.reply->space();
      ssize_t n = ::recv(c.fd.get(), space.data(), space.size(), 0);
      if (n > 0) {
        c.reply->commit(static_cast<std::size_t>(n));
        if (c.reply->complete()) return succeed(c);
        continue;
      }
      int err = n == 0 ? 0 : errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (c.reply->started())
        return fail(c, err == 0 ? cut_reply_error(c.address) : io_error(c.address, err));
      if ((err == 0 || peer_gone(err)) && retry(c)) return;
      return fail(c, err == 0 ? closed_error(c.address) : io_error(c.address, err));
    }
  }

  void on_ready(sync_call& c) {
    switch (c.state) {
      case phase::connecting: {
        int err = connect_result(c.fd.get());
        if (err != 0) return fail(c, connect_error(c.address, err));
        return write(c);
      }
      case phase::writing:
        return write(c);
      case phase::reading:
        return read(c);
      default:
        return;
    }
  }

  void succeed(sync_call& c) {
    c.state = phase::done;
    --active_;
    if (c.reply->overrun() || c.one_shot) {
      c.fd.reset();
    } else {
      thread_pool().put(c.address, std::move(c.fd));
    }
  }

  void fail(sync_call& c, call_error e) {
    c.state = phase::done;
    --active_;
    c.error = std::move(e);
    c.fd.reset();
  }

  // Collects the fds to wait on; true when some call waits to connect again.
  bool collect() {
    ts_.pfds.clear();
    ts_.polled.clear();
    bool again = false;
    for (sync_call& c : calls_) {
      short events = 0;
      if (c.state == phase::connecting || c.state == phase::writing) events = POLLOUT;
      if (c.state == phase::reading) events = POLLIN;
      if (c.state == phase::connect_again) again = true;
      if (events == 0) continue;
      ts_.pfds.push_back(pollfd{c.fd.get(), events, 0});
      ts_.polled.push_back(&c);
    }
    return again;
  }

  // One poll() round. False once the deadline has passed (every pending call then failed).
  bool wait_and_dispatch() {
    bool again = collect();
    auto now = clock::now();
    if (now >= deadline_) {
      for (sync_call& c : calls_) {
        if (c.state != phase::done) fail(c, timeout_error(c.address, timeout_));
      }
      return false;
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - now).count();
    int wait_ms = static_cast<int>(std::min<long long>(left, again ? connect_again_ms : left));
    if (::poll(ts_.pfds.data(), ts_.pfds.size(), wait_ms) < 0) {
      int err = errno;
      if (err == EINTR) return !abandon_if_interrupted();
      for (sync_call& c : calls_) {
        if (c.state != phase::done) fail(c, io_error(c.address, err));
      }
      return false;
    }
    for (std::size_t i = 0; i < ts_.pfds.size(); ++i) {
      if (ts_.pfds[i].revents != 0) on_ready(*ts_.polled[i]);
    }
    if (again) {
      for (sync_call& c : calls_) {
        if (c.state == phase::connect_again) connect_fresh(c);
      }
    }
    return true;
  }

  // After EINTR: asks the interrupt check; true when it said stop (every pending call failed).
  bool abandon_if_interrupted() {
    interrupt_check check = interrupt_check_.load(std::memory_order_acquire);
    if (check == nullptr || !check()) return false;
    for (sync_call& c : calls_) {
      if (c.state != phase::done) fail(c, interrupted_error(c.address));
    }
    return true;
  }

  std::span<sync_call> calls_;
  std::chrono::milliseconds timeout_;
  clock::time_point deadline_;
  thread_state& ts_;
  std::size_t active_ = 0;
};

}  // namespace

void run_sync_calls(std::span<sync_call> calls, std::chrono::milliseconds timeout) {
  engine(calls, timeout).run();
}

}  // namespace brood::client::detail
