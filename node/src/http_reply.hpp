#pragma once
// Replies on an HTTP socket (docs/config.md "HTTP"): a handler's raw HTTP response made fit for
// a kept-alive connection, and the error replies to bad requests. Private to the node module.
#include <string_view>

#include "brood/node/http_config.hpp"
#include "brood/node/router.hpp"

namespace brood::node::detail {

// What the reply answers.
struct http_exchange {
  int version = 11;         // the request's HTTP version: 10 or 11
  bool keep_alive = false;  // the client keeps the connection (HTTP/1.1, or keep-alive on 1.0)
  bool head = false;        // a HEAD request: the reply carries no body
};

// Makes `r` (status line, header fields, blank line, body: what the WSGI handler writes) framed
// for the connection: Content-Length added when the handler set neither it nor
// Transfer-Encoding (or the body chunked, with cfg.auto_chunked on HTTP/1.1), "Connection:
// close" when it will close, "Connection: keep-alive" to an HTTP/1.0 client it keeps, the
// add-header fields, the body dropped for HEAD. Sets r.keep_alive: the client and cfg keep the
// connection and the handler did not send "Connection: close". A reply that is no HTTP response
// is left as it is and closes the connection.
void finish_http_reply(reply& r, const http_exchange& ex, const http_config& cfg);

// The reply to a request that cannot be served: `status` (400, 408, 413, 431, 403, 404...) with
// its reason phrase as a text/plain body; it closes the connection (keep_alive false) unless
// `keep` is true.
reply http_error_reply(int status, bool keep = false);

// The reason phrase of `status` ("Not Found"); "Unknown" for one brood does not name.
std::string_view http_reason(int status) noexcept;

}  // namespace brood::node::detail
