#pragma once
// TLS for the https sockets (docs/config.md "HTTP"): an OpenSSL context per socket and one
// session per connection, over memory buffers so that the connection keeps its own socket I/O
// (its direct read and write). Private to the node module.
#include <memory>
#include <string>

#include "brood/wire/bytes.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace brood::node::detail {

// The server context of one https socket: its certificate chain and private key (PEM files).
class tls_context {
 public:
  // Loads `cert` and `key`; nullptr and `why` ("cannot load certificate a.crt: ...") on failure.
  static std::unique_ptr<tls_context> load(const std::string& cert, const std::string& key,
                                           std::string& why);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;
  SSL_CTX* get() const noexcept { return ctx_; }

 private:
  explicit tls_context(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// The server side of one TLS connection. Not thread-safe.
class tls_session {
 public:
  explicit tls_session(SSL_CTX* ctx);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  // Takes `n` received (encrypted) bytes and appends the plaintext they complete to
  // plain[end, ...), growing `plain` as needed and advancing `end`. False on a TLS error (`why`).
  // Bytes the session must send (handshake, tickets, alerts) wait in output().
  bool receive(const wire::byte* data, std::size_t n, wire::bytes& plain, std::size_t& end,
               std::string& why);
  // Encrypts `plain`; appends the records (after any output() waiting) to `out`.
  bool seal(wire::bytes_view plain, wire::bytes& out, std::string& why);
  // Moves the bytes waiting to be sent to `out` (appended).
  void take_output(wire::bytes& out);

 private:
  SSL* ssl_;
  BIO* in_;   // received ciphertext (owned by ssl_)
  BIO* out_;  // ciphertext to send (owned by ssl_)
};

}  // namespace brood::node::detail
