#pragma once
// HTTP sockets: http-socket, http11-socket, http, https, http-keepalive, http-timeout,
// http-auto-chunked, post-buffering, add-header, static-map. Filled by the CLI
// (cli/src/http_options.cpp).
namespace brood::node {

struct http_config {};

}  // namespace brood::node
