#pragma once
// Remote enqueue (modifier1 17, UWSGI_FACTS.md §3.4): the client call and the node's handler.
#include <chrono>
#include <memory>
#include <string_view>

#include "brood/node/call_error.hpp"
#include "brood/node/router.hpp"
#include "brood/node/spool.hpp"
#include "brood/node/spool_store.hpp"

namespace brood::node {

// Enqueues a task on the spooler of the node (brood or uWSGI 2.0) at `address`: sends
// [17, size, 0] + the vars block and reads the 4-byte answer. `body`, when not empty, travels as
// the var "body" (uWSGI does not spool a request body; the Python spooler sees it as
// task["body"] either way), so vars and body must fit 65535 bytes (else bad_request).
// Success (true): FF 00 00 01, the task is durable on that node. FF 00 00 00: call_errc::remote
// with remote_type "SpoolerRefused". Thread-safety as send_packet (any thread; a kept-alive
// connection pool per thread; a peer that closes after answering, as uWSGI does, is handled).
result<bool> spool(std::string_view address, const spool_vars& vars, std::string_view body,
                   std::chrono::milliseconds timeout);

// Installs the modifier1 17 handler on `r`: the vars block of the request is written with
// `store->enqueue` and answered FF 00 00 01 only once durable; FF 00 00 00 for no store (null:
// the node has no spooler), an unknown spooler, a malformed vars block or a failed write, each
// with a log line naming the peer and the reason. The connection stays open (keep-alive).
void serve_remote_spool(router& r, std::shared_ptr<const spool_store> store);

}  // namespace brood::node
