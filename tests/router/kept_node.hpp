#pragma once
// kept_node: a blocking loopback uwsgi server speaking brood's kept-alive answers (docs/protocol.md
// §6.1) for the router tests. Each connection serves requests until the router closes it: the
// header, the vars, CONTENT_LENGTH body bytes; the answer "NAME ka=K n=N body=B\n" + the body, in
// chunks of at most 1000 bytes `[u32 LE length][bytes]` and a zero-length chunk when the request
// carried BROOD_KEEPALIVE=1 (the connection then stays open), else plain and closed. N counts
// the requests of the connection. close_after_answer: closes each connection after one framed
// answer (as a node closing an idle kept connection). Counts the connections it accepted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "brood/wire/header.hpp"
#include "brood/wire/keepalive_frames.hpp"
#include "brood/wire/vars.hpp"

namespace brood::testing {

class kept_node {
 public:
  explicit kept_node(std::string name, bool close_after_answer = false)
      : name_(std::move(name)), close_after_(close_after_answer) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 128);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~kept_node() {
    stop_ = true;
    acceptor_.join();
    for (int c : conns_) ::shutdown(c, SHUT_RDWR);
    for (auto& t : workers_) t.join();
    for (int c : conns_) ::close(c);
    ::close(fd_);
  }
  const std::string& address() const { return address_; }
  int accepts() const { return accepts_; }
  int requests() const { return requests_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++accepts_;
      conns_.push_back(c);
      workers_.emplace_back([this, c] { serve(c); });
    }
  }
  static bool read_n(int fd, std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const ssize_t r = ::read(fd, p, n);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  static bool write_all(int fd, const wire::bytes& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      const ssize_t w = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (w <= 0) return false;
      off += static_cast<std::size_t>(w);
    }
    return true;
  }
  void serve(int c) {
    for (int n = 1;; ++n) {
      std::uint8_t h[4];
      if (!read_n(c, h, 4)) break;
      const wire::header head = wire::decode_header(wire::bytes_view(h, 4));
      std::vector<std::uint8_t> block(head.size);
      std::vector<wire::var> vars;
      if (!read_n(c, block.data(), block.size())) break;
      (void)wire::decode_vars(block, wire::limits{65535, 1024}, vars);
      const wire::var_lookup cl = wire::find_var(vars, "CONTENT_LENGTH");
      const std::size_t body_len = cl.found ? std::stoul(std::string(cl.value)) : 0;
      std::string body(body_len, '\0');
      if (!read_n(c, reinterpret_cast<std::uint8_t*>(body.data()), body_len)) break;
      ++requests_;
      const bool ka = wire::find_var(vars, "BROOD_KEEPALIVE").value == "1";
      const std::string text = name_ + " ka=" + (ka ? "1" : "0") + " n=" + std::to_string(n) +
                               " body=" + std::to_string(body_len) + "\n" + body;
      wire::bytes out;
      if (!ka) {
        out.assign(text.begin(), text.end());
        write_all(c, out);
        break;
      }
      for (std::size_t off = 0; off < text.size(); off += 1000) {
        wire::bytes piece, framed;
        piece.assign(text.begin() + static_cast<std::ptrdiff_t>(off),
                     text.begin() + static_cast<std::ptrdiff_t>(std::min(text.size(), off + 1000)));
        wire::append_keepalive_frames(framed, piece);
        framed.resize(framed.size() - 4);  // each piece its own chunk; one final chunk below
        out.insert(out.end(), framed.begin(), framed.end());
      }
      out.insert(out.end(), {0, 0, 0, 0});
      if (!write_all(c, out) || close_after_) break;
    }
    ::shutdown(c, SHUT_RDWR);
  }

  std::string name_;
  bool close_after_;
  int fd_ = -1;
  std::string address_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepts_{0}, requests_{0};
  std::thread acceptor_;
  std::vector<int> conns_;
  std::vector<std::thread> workers_;
};

}  // namespace brood::testing
