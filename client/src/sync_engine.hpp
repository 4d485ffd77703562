#pragma once
// The sync client's engine: runs one or many request/reply exchanges at once over non-blocking
// sockets and one poll() loop, under one deadline.
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "brood/client/call_error.hpp"
#include "brood/os/unique_fd.hpp"
#include "brood/wire/bytes.hpp"
#include "endpoint.hpp"
#include "reply.hpp"

namespace brood::client::detail {

// One exchange. The caller fills address, request and reply (and may preset `error` to skip it);
// after run_sync_calls exactly one of `error` / `reply->complete()` holds.
struct sync_call {
  std::string_view address;         // as the caller wrote it: pool key and error messages
  wire::bytes_view request;         // the framed request
  reply_buffer* reply = nullptr;    // receives the reply
  std::optional<call_error> error;  // the failure, if any
  // A fresh connection, closed after the reply (never pooled): for the answers after which a
  // server closes (uWSGI's remote enqueue and ping, docs/protocol.md §10).
  bool one_shot = false;

  // Engine state.
  enum class phase { start, connecting, connect_again, writing, reading, done };
  phase state = phase::start;
  endpoint ep;
  os::unique_fd fd;
  std::size_t written = 0;
  bool reused = false;   // the connection came from the idle pool
  bool retried = false;  // already retried once on a fresh connection
};

// Runs every call at once: idle pooled connections are reused, the rest connect in parallel.
// Returns when each call has its reply or its error; calls still unanswered after `timeout`
// fail with call_errc::timeout. A reused connection the peer had closed (EOF, EPIPE, ECONNRESET
// before any reply byte) is retried once on a fresh connection. Connections that delivered a
// whole reply go back to the calling thread's idle pool, except one-shot calls'.
void run_sync_calls(std::span<sync_call> calls, std::chrono::milliseconds timeout);

}  // namespace brood::client::detail
