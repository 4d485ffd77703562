#pragma once
// Everything a node needs to run, filled by the CLI from options and ini files.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "brood/wire/limits.hpp"

namespace brood::node {

struct node_config {
  std::vector<std::string> sockets;  // socket = ADDR (repeatable)
  unsigned processes = 1;            // processes / workers
  bool master = false;               // master (processes > 1 implies it)
  wire::limits limits;               // buffer-size, max-vars
  int listen_queue = 100;            // listen: backlog of every bound socket
  // socket-timeout: a client must deliver a whole request (and take the reply) within this.
  std::chrono::milliseconds socket_timeout{4000};
  // keepalive-timeout (brood): an idle kept-alive connection is closed after this.
  std::chrono::milliseconds keepalive_timeout{60000};
  // reload-mercy / worker-reload-mercy: on stop or reload, workers get this long to finish
  // in-flight requests before SIGKILL.
  std::chrono::milliseconds reload_mercy{60000};
  // The largest request body (body_policy::content_length) a worker buffers; a larger
  // CONTENT_LENGTH gets a failure reply and the connection is closed.
  std::size_t max_body_size = 64 * 1024 * 1024;
};

}  // namespace brood::node
