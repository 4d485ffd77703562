// A connection on an HTTP socket: decoding requests with wire::http_request_decoder, static
// files, and the HTTP framing of replies (docs/config.md "HTTP").
#include "connection_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "brood/os/log.hpp"
#include "brood/wire/modifier.hpp"
#include "connection.hpp"
#include "http_static.hpp"

namespace brood::node::detail {
namespace {

// "127.0.0.1" and "40312" of a socket address (empty for a unix socket).
void split_address(const sockaddr_storage& ss, std::string& host, std::string& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    port = std::to_string(ntohs(in.sin_port));
  } else if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    port = std::to_string(ntohs(in6.sin6_port));
  }
  host = text;
}

const std::string& host_name() {
  static const std::string name = [] {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return std::string("localhost");
    return std::string(buf);
  }();
  return name;
}

}  // namespace

std::unique_ptr<http_session> make_http_session(const node_config& cfg, int fd) {
  wire::http_endpoint ep;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    split_address(ss, ep.remote_addr, ep.remote_port);
  std::string local_host;
  len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    split_address(ss, local_host, ep.server_port);
  ep.server_name = host_name();
  return std::make_unique<http_session>(cfg, std::move(ep));
}

// Feeds the decoder the bytes at begin_. True when a whole request is decoded (its bytes are
// consumed); otherwise it was refused or more bytes are being read.
bool connection::frame_http() {
  http_session& s = *http_;
  const auto res = s.decoder.feed(wire::bytes_view(buf_.data() + begin_, end_ - begin_));
  begin_ += res.consumed;  // the decoder copied them (vars, body)
  if (res.is_bad()) {
    refuse_http(res.status, res.why);
    return false;
  }
  if (res.is_done()) return true;
  if (s.decoder.header_done() && s.decoder.expects_continue() && !s.continue_sent) {
    s.continue_sent = true;  // best effort: the client sends the body after a short wait anyway
    static constexpr char go_on[] = "HTTP/1.1 100 Continue\r\n\r\n";
    (void)::send(fd_, go_on, sizeof go_on - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  if (end_ == buf_.size()) make_room(end_ - begin_ + normal_size_);  // a long header: grow fast
  read_more();
  return false;
}

// Answers the decoded request: a static file, else the modifier1 0 handler (WSGI).
void connection::answer_http() {
  http_session& s = *http_;
  wire::http_request_decoder& d = s.decoder;
  s.exchange = http_exchange{d.version(), d.keep_alive(), d.head_method()};
  s.continue_sent = false;
  in_request_ = true;
  request_start_ = owner_.request_started();
  std::optional<reply> rep = serve_static(cfg_.http, d.method(), d.path(), d.if_modified_since());
  if (!rep) {
    const wire::bytes_view vars = d.vars();
    wire::header head;
    head.modifier1 = wire::to_byte(wire::modifier1::wsgi);
    head.size = static_cast<std::uint16_t>(vars.size());
    const request rq{head, vars, d.body(), peer_};
    if (router_.defers(head.modifier1)) {
      defer(rq);  // the handler copies what it needs before it returns
      d.reset();
      return;
    }
    rep = router_.dispatch(rq);
    if (!rep) rep = http_error_reply(500);  // no application (logged by the router)
  }
  d.reset();
  finish_http(*rep);
  write(std::move(*rep));
}

void connection::finish_http(reply& r) { finish_http_reply(r, http_->exchange, cfg_.http); }

// The error reply to a request that cannot be decoded; the connection closes after it.
void connection::refuse_http(int status, const std::string& why) {
  owner_.read_failed();
  os::log("HTTP request from ", peer_, " refused with ", status, " ", http_reason(status), ": ",
          why);
  write(http_error_reply(status));
}

}  // namespace brood::node::detail
