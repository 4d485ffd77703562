#pragma once
// The node tests' forked nodes: testing::node_process runs run_node in a child; make_router() is
// the handler every such node serves.
// REQUIRES: the test process is a child subreaper (PR_SET_CHILD_SUBREAPER) so that kill_all()
// also reaps orphaned workers.
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "brood/node/router.hpp"
#include "brood/os/log.hpp"
#include "eventually.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"

namespace brood::node::test {

using testing::call;
using testing::eventually;
using testing::node_process;

// The handler of every test node: "pid" -> its pid; "sleep" -> its pid after 500 ms; "hang" ->
// never answers; "crash" -> the worker dies; anything else is echoed.
inline router make_router() {
  router r;
  r.on_message([](const wire::value& m, std::uint8_t) -> wire::value {
    const std::string cmd = m.is<std::string>() ? m.as<std::string>() : "";
    if (cmd == "sleep") {
      os::log("handler sleeping");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the slow handler
    } else if (cmd == "hang") {
      os::log("handler hanging");
      for (;;) ::pause();
    } else if (cmd == "crash") {
      ::_exit(3);
    } else if (cmd != "pid") {
      return m;
    }
    return static_cast<std::int64_t>(::getpid());
  });
  return r;
}

}  // namespace brood::node::test
