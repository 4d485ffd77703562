#pragma once
// The HTTP/1.x request decoder of the HTTP sockets (docs/config.md "HTTP"): request bytes in (a
// Boost.Beast parser reads them), the uwsgi vars block a WSGI handler reads out, with the CGI
// variables uWSGI's http-socket gives (REQUEST_METHOD, REQUEST_URI, PATH_INFO percent-decoded,
// QUERY_STRING, SERVER_PROTOCOL, CONTENT_TYPE, CONTENT_LENGTH, HTTP_*, REMOTE_ADDR, REMOTE_PORT,
// SCRIPT_NAME, SERVER_NAME, SERVER_PORT, HTTPS/UWSGI_SCHEME on TLS), and the body (Content-Length
// or chunked, de-chunked). Pure: no I/O, no globals.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "brood/wire/bytes.hpp"
#include "brood/wire/limits.hpp"

namespace brood::wire {

// Who is talking to whom; copied into the vars of every request.
struct http_endpoint {
  std::string remote_addr;  // "127.0.0.1"
  std::string remote_port;  // "40312"
  std::string server_name;  // as uWSGI: the host name of this machine
  std::string server_port;  // the port of the listening socket
  bool https = false;       // TLS socket: HTTPS=on, UWSGI_SCHEME=https
};

enum class http_decode_status { need_more, bad, done };

// Outcome of http_request_decoder::feed. done: the request is complete, `consumed` bytes of this
// feed made its end. need_more: `consumed` bytes of this feed were taken (body bytes); feed the
// rest of the stream from there. bad: `status` is the HTTP status to answer (400 malformed, 413
// body over the limit, 431 header over the limit or too many header fields) and `why` says what.
struct http_decode_result {
  http_decode_status state = http_decode_status::need_more;
  std::size_t consumed = 0;
  int status = 0;
  std::string why;
  bool is_done() const noexcept { return state == http_decode_status::done; }
  bool is_bad() const noexcept { return state == http_decode_status::bad; }
};

// Decodes one request at a time. Usage: reset(), then feed() the bytes of the stream not yet
// consumed until done or bad; read vars()/body(); reset() for the next (pipelined) request.
// Limits: the header (request line and fields) at most lim.buffer_size bytes and its vars block
// at most 65535 bytes and lim.max_pairs() records (else 431), the body at most `max_body` (413).
// Not thread-safe; one per connection.
class http_request_decoder {
 public:
  http_request_decoder(const limits& lim, std::size_t max_body, http_endpoint ep);
  ~http_request_decoder();
  http_request_decoder(const http_request_decoder&) = delete;
  http_request_decoder& operator=(const http_request_decoder&) = delete;

  // Forgets the request decoded so far; the next feed starts a new one.
  void reset();
  // Decodes `in`: the stream bytes after those consumed by the earlier feeds of this request.
  http_decode_result feed(bytes_view in);
  // True once the request line and header fields of the current request are decoded.
  bool header_done() const noexcept;

  // After done: the uwsgi vars block (docs/protocol.md §2) and the body.
  bytes_view vars() const noexcept;
  bytes_view body() const noexcept;
  // After the header: the request may be followed by another on this connection (HTTP/1.1
  // without "Connection: close", HTTP/1.0 with "Connection: keep-alive").
  bool keep_alive() const noexcept;
  // After the header: 10 or 11; the method is HEAD; the client sent "Expect: 100-continue".
  int version() const noexcept;
  bool head_method() const noexcept;
  bool expects_continue() const noexcept;
  // After the header: the method ("GET").
  std::string_view method() const noexcept;
  // After the header: PATH_INFO (percent-decoded) and the If-Modified-Since field (or empty).
  std::string_view path() const noexcept;
  std::string_view if_modified_since() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Decodes %XX escapes of a URI path; an invalid escape is kept as it is (as uWSGI).
std::string percent_decode(std::string_view in);

}  // namespace brood::wire
