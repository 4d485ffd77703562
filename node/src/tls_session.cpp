// TLS over memory BIOs with OpenSSL.
#include "tls_session.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace brood::node::detail {
namespace {

std::string last_error() {
  const unsigned long e = ::ERR_get_error();
  ::ERR_clear_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ::ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

std::unique_ptr<tls_context> tls_context::load(const std::string& cert, const std::string& key,
                                               std::string& why) {
  SSL_CTX* ctx = ::SSL_CTX_new(::TLS_server_method());
  if (ctx == nullptr) {
    why = "cannot create a TLS context: " + last_error();
    return nullptr;
  }
  std::unique_ptr<tls_context> owner(new tls_context(ctx));
  ::SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (::SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    why = "cannot load certificate " + cert + ": " + last_error();
    return nullptr;
  }
  if (::SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    why = "cannot load private key " + key + ": " + last_error();
    return nullptr;
  }
  if (::SSL_CTX_check_private_key(ctx) != 1) {
    why = "private key " + key + " does not match certificate " + cert;
    return nullptr;
  }
  return owner;
}

tls_context::~tls_context() { ::SSL_CTX_free(ctx_); }

tls_session::tls_session(SSL_CTX* ctx)
    : ssl_(::SSL_new(ctx)), in_(::BIO_new(::BIO_s_mem())), out_(::BIO_new(::BIO_s_mem())) {
  ::SSL_set_bio(ssl_, in_, out_);
  ::SSL_set_accept_state(ssl_);
}

tls_session::~tls_session() { ::SSL_free(ssl_); }

bool tls_session::receive(const wire::byte* data, std::size_t n, wire::bytes& plain,
                          std::size_t& end, std::string& why) {
  if (n > 0 && ::BIO_write(in_, data, static_cast<int>(n)) != static_cast<int>(n)) {
    why = "TLS input buffer full";
    return false;
  }
  for (;;) {
    if (plain.size() - end < 4096) plain.resize(end + 16384);
    const int got = ::SSL_read(ssl_, plain.data() + end, static_cast<int>(plain.size() - end));
    if (got > 0) {
      end += static_cast<std::size_t>(got);
      continue;
    }
    const int err = ::SSL_get_error(ssl_, got);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
    if (err == SSL_ERROR_ZERO_RETURN) {
      why = "TLS connection closed by the client";
      return false;
    }
    why = "TLS error: " + last_error();
    return false;
  }
}

bool tls_session::seal(wire::bytes_view plain, wire::bytes& out, std::string& why) {
  std::size_t done = 0;
  while (done < plain.size()) {
    const int n = ::SSL_write(ssl_, plain.data() + done, static_cast<int>(plain.size() - done));
    if (n <= 0) {
      why = "TLS error: " + last_error();
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  take_output(out);
  return true;
}

void tls_session::take_output(wire::bytes& out) {
  const std::size_t pending = ::BIO_ctrl_pending(out_);
  if (pending == 0) return;
  const std::size_t at = out.size();
  out.resize(at + pending);
  const int n = ::BIO_read(out_, out.data() + at, static_cast<int>(pending));
  out.resize(at + static_cast<std::size_t>(n > 0 ? n : 0));
}

}  // namespace brood::node::detail
