#pragma once
// The HTTP state of a connection on an HTTP socket (connection.hpp). Private to the node module.
#include <memory>

#include "brood/node/config.hpp"
#include "brood/wire/http_request.hpp"
#include "http_reply.hpp"
#include "http_sockets.hpp"
#include "tls_session.hpp"

namespace brood::node::detail {

struct http_session {
  explicit http_session(const node_config& cfg, wire::http_endpoint ep)
      : decoder(cfg.limits, cfg.max_body_size, std::move(ep)) {}
  wire::http_request_decoder decoder;  // the request being read
  http_exchange exchange;              // the request being answered
  bool continue_sent = false;          // "100 Continue" sent for the request being read
  std::unique_ptr<tls_session> tls;    // https: the TLS session; null for plain HTTP
};

// The session of the accepted socket `fd`: its peer and local addresses become REMOTE_ADDR,
// REMOTE_PORT and SERVER_PORT; SERVER_NAME is this host's name (as uWSGI); over TLS when the
// socket has a certificate (HTTPS=on).
std::unique_ptr<http_session> make_http_session(const node_config& cfg, int fd,
                                                const http_socket& socket);

// True while a request is partly decoded (its header read, its body not complete).
inline bool http_mid_request(const http_session& s) noexcept { return s.decoder.header_done(); }

}  // namespace brood::node::detail
