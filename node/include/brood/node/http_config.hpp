#pragma once
// HTTP sockets: http-socket, http11-socket, http, https, http-keepalive, http-timeout,
// http-auto-chunked, post-buffering, add-header, static-map. Filled by the CLI
// (cli/src/http_options.cpp); docs/config.md "HTTP".
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace brood::node {

// static-map /mountpoint=/dir: a request whose PATH_INFO starts with `mountpoint` is answered
// with the file at `dir` + the rest of the path (static-map2: `dir` + the whole path).
struct static_mapping {
  std::string mountpoint;
  std::string dir;
  bool keep_mountpoint = false;  // static-map2
};

// https ADDR,CERT,KEY: an HTTP socket over TLS (PEM certificate chain and private key).
struct https_socket {
  std::string address;
  std::string cert;
  std::string key;
};

struct http_config {
  // http-socket / http11-socket / http ADDR (repeatable): the workers speak HTTP/1.1 on these
  // (with keep-alive on all of them: docs/config.md "HTTP").
  std::vector<std::string> sockets;
  // https ADDR,CERT,KEY (repeatable): the same over TLS.
  std::vector<https_socket> https;
  // http-keepalive: false: every HTTP reply closes its connection.
  bool keepalive = true;
  // An idle kept-alive HTTP connection is closed after this (http-keepalive N with N > 1, else
  // http-timeout).
  std::chrono::milliseconds keepalive_timeout{60000};
  // http-timeout: a request must arrive (and its reply be taken) within this; default 60 s.
  std::chrono::milliseconds timeout{60000};
  // http-auto-chunked: a reply without Content-Length to an HTTP/1.1 request is sent chunked
  // (else brood adds Content-Length: the body is buffered).
  bool auto_chunked = false;
  // post-buffering: accepted; request bodies are always buffered.
  std::size_t post_buffering = 0;
  // add-header "Name: value" (repeatable): added to every HTTP reply.
  std::vector<std::string> add_headers;
  // static-map / static-map2 (repeatable).
  std::vector<static_mapping> static_maps;
};

}  // namespace brood::node
