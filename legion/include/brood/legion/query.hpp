#pragma once
// `brood legion ADDR`: asks one member for its view of a legion. Sends an authenticated `query`
// (docs/protocol.md "Legion") from a ZeroMQ DEALER to ADDR and waits for the `view` answer.
#include <chrono>
#include <string>

#include "brood/legion/view.hpp"

namespace brood::legion {

struct query_request {
  std::string address;  // the member's "host:port" (its `legion` line's ADDR)
  std::string legion;   // the legion's name (the key and the answer are per legion)
  std::string secret;   // the SECRET field of the `legion` line, as written
  std::chrono::milliseconds timeout{2000};
};

struct query_answer {
  bool ok = false;
  // When !ok, one line naming the member and what went wrong:
  //   "bad address 'x': ..."
  //   "cannot connect to 127.0.0.1:4001 within 2000 ms (nothing listening there?)"
  //   "no answer from 127.0.0.1:4001 within 2000 ms: it is no member of legion 'web', or its
  //    secret differs (the member logs each message it drops, and why)"
  //   "the answer of 127.0.0.1:4001 failed authentication: bad mac (wrong secret, ...)"
  std::string error;
  legion_view view;  // the member's view
  std::string json;  // the view as the member sent it (JSON text)
};

// Blocks for at most about `timeout`. Thread-safe (its own ZeroMQ context).
query_answer query_member(const query_request& r);

}  // namespace brood::legion
