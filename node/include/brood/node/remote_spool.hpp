#pragma once
// Remote enqueue (modifier1 17, docs/protocol.md §10): the node's handler.
#include <memory>

#include "brood/node/router.hpp"
#include "brood/spooler/spool_store.hpp"

namespace brood::node {

// Installs the modifier1 17 handler on `r`: the vars block of the request is written with
// `store->enqueue` and answered FF 00 00 01 only once durable; FF 00 00 00 for no store (null:
// the node has no spooler), an unknown spooler, a malformed vars block or a failed write, each
// with a log line naming the peer and the reason. The connection stays open (keep-alive).
void serve_remote_spool(router& r, std::shared_ptr<const spooler::spool_store> store);

}  // namespace brood::node
