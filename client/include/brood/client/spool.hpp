#pragma once
// Remote enqueue (modifier1 17, docs/protocol.md §10): the client call.
#include <chrono>
#include <memory>
#include <string_view>

#include "brood/client/call_error.hpp"
#include "brood/wire/spool_file.hpp"

namespace brood::client {

using wire::spool_vars;

// Enqueues a task on the spooler of the node (brood or uWSGI 2.0) at `address`: sends
// [17, size, 0] + the vars block and reads the 4-byte answer. `body`, when not empty, travels as
// the var "body" (uWSGI does not spool a request body; the Python spooler sees it as
// task["body"] either way), so vars and body must fit 65535 bytes (else bad_request).
// Success (true): FF 00 00 01, the task is durable on that node. FF 00 00 00: call_errc::remote
// with remote_type "SpoolerRefused". Thread-safety as send_packet (any thread; a kept-alive
// connection pool per thread; a peer that closes after answering, as uWSGI does, is handled).
result<bool> spool(std::string_view address, const wire::spool_vars& vars, std::string_view body,
                   std::chrono::milliseconds timeout);

}  // namespace brood::client
