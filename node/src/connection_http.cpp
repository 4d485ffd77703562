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

std::unique_ptr<http_session> make_http_session(const node_config& cfg, int fd,
                                                const http_socket& socket) {
  wire::http_endpoint ep;
  ep.https = socket.tls != nullptr;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    split_address(ss, ep.remote_addr, ep.remote_port);
  std::string local_host;
  len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    split_address(ss, local_host, ep.server_port);
  ep.server_name = host_name();
  auto s = std::make_unique<http_session>(cfg, std::move(ep));
  if (socket.tls) s->tls = std::make_unique<tls_session>(socket.tls->get());
  return s;
}

// TLS: the `n` bytes just read at end_ - n are records; replaces them with the plaintext they
// complete and sends what the session has to send (handshake). False when the connection was
// closed (a TLS error, logged) or more records are needed (a read is pending).
bool connection::decrypt(std::size_t n) {
  http_session& s = *http_;
  end_ -= n;
  const std::size_t before = end_;
  wire::bytes records(buf_.begin() + static_cast<std::ptrdiff_t>(end_),
                      buf_.begin() + static_cast<std::ptrdiff_t>(end_ + n));
  std::string why;
  const bool ok = s.tls->receive(records.data(), records.size(), buf_, end_, why);
  wire::bytes out;
  s.tls->take_output(out);
  std::size_t sent = 0;
  while (sent < out.size()) {  // handshake records: a few KiB, the socket takes them at once
    const ssize_t k = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (k <= 0) {
      why = "cannot send the TLS handshake";
      break;
    }
    sent += static_cast<std::size_t>(k);
  }
  if (!ok || sent < out.size()) {
    if (why != "TLS connection closed by the client")
      os::log("HTTPS connection from ", peer_, " closed: ", why);
    close();
    return false;
  }
  if (end_ == before && !(begin_ != end_ || http_mid_request(s))) {
    read_more();  // no plaintext yet (the handshake goes on)
    return false;
  }
  return true;
}

// TLS: replaces the plaintext of `r` with its records. False (and the connection closed) on a
// TLS error.
bool connection::encrypt(reply& r) {
  wire::bytes records;
  records.reserve(r.data.size() + 64);
  std::string why;
  if (!http_->tls->seal(r.data, records, why)) {
    os::log("HTTPS reply to ", peer_, " failed: ", why);
    close();
    return false;
  }
  r.data = std::move(records);
  return true;
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
    owner_.describe_request(rq);  // harakiri's summary of the request
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
