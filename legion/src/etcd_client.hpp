#pragma once
// A client of etcd's v3 HTTP/JSON gateway (docs/config.md "legion-etcd"): POST /v3/... with a JSON
// body, one keep-alive HTTP/1.1 connection (Boost.Beast) to one endpoint at a time, the next
// endpoint tried when one does not answer. Every call is synchronous with a deadline, for the
// legion thread; interrupt() (any thread) makes the call in flight and every later one fail at
// once until resume(). Not thread-safe otherwise: one owner thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace brood::legion::etcd {

using milliseconds = std::chrono::milliseconds;

struct url {
  std::string host;
  std::string port;
  std::string text;  // as written, "http://host:port"
};

// Parses "http://h:p[,http://h:p...]" (spaces around commas allowed; IPv6 as "[::1]:p"). Error:
// one line naming the endpoint and what is wrong ("legion-etcd: 'https://x:1': only http:// is
// supported"); empty on success.
std::string parse_endpoints(const std::string& text, std::vector<url>& out);

// base64 (RFC 4648, with padding) as etcd's gateway writes bytes fields.
std::string base64_encode(std::string_view bytes);
// False when `text` is not base64.
bool base64_decode(std::string_view text, std::string& out);

// The outcome of one call. `transport`: etcd was not reached or did not answer in time (the
// caller retries later); otherwise etcd answered: `ok`, or its error (`code` is the gRPC code,
// e.g. 5 NotFound for an unknown lease, and `error` its message).
struct reply {
  bool ok = false;
  bool transport = false;
  int code = 0;
  std::string error;  // "http://127.0.0.1:2379: connect: Connection refused", "etcd: ..."
  nlohmann::json body;
};

class client {
 public:
  explicit client(std::vector<url> endpoints);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // POST `path` ("/v3/kv/range") with `body`; the whole call (connect, tries on other endpoints
  // included) ends by `timeout`. A 200 answer without "error" whose JSON has a "header" (or a
  // "result" holding one, for streamed calls) is ok.
  reply post(std::string_view path, const nlohmann::json& body, milliseconds timeout);

  void interrupt();  // thread-safe
  void resume();
  // Every call ends by `t` at the latest, whatever its timeout, and one made at or after `t`
  // fails at once (time_point::max(): no limit): the owner has something due then that must not
  // wait on etcd (a placement member's fence, etcd_backend.cpp).
  void limit_until(std::chrono::steady_clock::time_point t);
  // The endpoint of the current connection, or the next one tried.
  const std::string& current() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace brood::legion::etcd
