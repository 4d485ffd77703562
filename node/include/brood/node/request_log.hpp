#pragma once
// The request log: one line per answered application request (WSGI), in uWSGI's default format
//   [pid: P|app: A|req: W/T] ADDR (USER) {N vars in B bytes} [DATE] METHOD URI => generated S
//   bytes in M msecs (PROTO STATUS) H headers in HB bytes (1 switches on core C)
// or in the log-format the config gives, filtered as log_config says (docs/config.md
// "Logging"). Written with os::log_raw. Thread-safe.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "brood/node/log_config.hpp"
#include "brood/wire/vars.hpp"

namespace brood::node {

// What a handler knows of one request once it is answered.
struct request_record {
  const std::vector<wire::var>* vars = nullptr;  // the request's vars (not owned)
  std::size_t vars_bytes = 0;                    // size of the vars block (pktsize)
  int status = 0;                                // HTTP status of the answer
  std::size_t body_bytes = 0;                    // response body ("generated N bytes")
  std::size_t headers = 0;                       // response headers
  std::size_t header_bytes = 0;                  // status line + headers + blank line
  std::int64_t start_us = 0;                     // unix µs when the request started
  std::int64_t end_us = 0;                       // unix µs when the answer was ready
  unsigned app = 0;                              // the application's id (mounts)
  unsigned core = 0;                             // the worker's core that answered
};

// True when `r` gets a line under `cfg`.
bool should_log(const log_config& cfg, const request_record& r) noexcept;

// The line of `r`: uWSGI's default format, or cfg.log_format with its variables expanded
// (an unknown %(name) is kept as it is). `worker_requests`/`total_requests`: the req: figures.
std::string format_request_line(const log_config& cfg, const request_record& r, pid_t pid,
                                unsigned worker_id, std::uint64_t worker_requests,
                                std::uint64_t total_requests);

// Logs `r` if should_log: the figures of this worker process's scoreboard slot (its requests
// so far, this one included, and the node's), its pid and worker id.
void log_request(const log_config& cfg, const request_record& r);

}  // namespace brood::node
