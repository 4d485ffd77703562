#pragma once
// The RSA signature of a subscription datagram (docs/uwsgi-compat.md §10, `sign` of subscribe-to
// and subscribe2): "<digest>:<PEM private key file>", as uWSGI. The signature is PKCS#1 v1.5
// over the bytes wire::subscription_signed_base() gives, with the named digest (sha1, sha256...),
// what a router with subscriptions-sign-check verifies with the key's public half.
#include <memory>
#include <string>
#include <string_view>

#include "brood/wire/bytes.hpp"

namespace brood::node {

class subscription_signer {
 public:
  // Loads the key. Throws std::invalid_argument naming the spec and the fault: no ':', an
  // unknown digest, a file that cannot be read or holds no private key.
  explicit subscription_signer(std::string_view spec);
  ~subscription_signer();
  subscription_signer(subscription_signer&&) noexcept;
  subscription_signer& operator=(subscription_signer&&) noexcept;

  // The signature of `data`; empty when OpenSSL fails (the caller logs and skips the datagram).
  wire::bytes sign(wire::bytes_view data) const;
  const std::string& spec() const noexcept { return spec_; }

 private:
  struct state;
  std::string spec_;
  std::unique_ptr<state> state_;
};

}  // namespace brood::node
