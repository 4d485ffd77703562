// subscription_signer: OpenSSL's EVP_DigestSign with an RSA key read from a PEM file.
#include "subscription_sign.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <stdexcept>

namespace brood::node {

struct subscription_signer::state {
  const EVP_MD* md = nullptr;
  EVP_PKEY* key = nullptr;
  ~state() { EVP_PKEY_free(key); }
};

subscription_signer::subscription_signer(std::string_view spec)
    : spec_(spec), state_(std::make_unique<state>()) {
  const std::size_t colon = spec.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == spec.size())
    throw std::invalid_argument("sign \"" + spec_ + "\": expected <digest>:<PEM private key file>");
  const std::string digest(spec.substr(0, colon)), file(spec.substr(colon + 1));
  state_->md = EVP_get_digestbyname(digest.c_str());
  if (!state_->md)
    throw std::invalid_argument("sign \"" + spec_ + "\": unknown digest \"" + digest + "\"");
  std::FILE* f = std::fopen(file.c_str(), "r");
  if (!f) throw std::invalid_argument("sign \"" + spec_ + "\": cannot open " + file);
  state_->key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!state_->key)
    throw std::invalid_argument("sign \"" + spec_ + "\": " + file + " holds no PEM private key");
}

subscription_signer::~subscription_signer() = default;
subscription_signer::subscription_signer(subscription_signer&&) noexcept = default;
subscription_signer& subscription_signer::operator=(subscription_signer&&) noexcept = default;

wire::bytes subscription_signer::sign(wire::bytes_view data) const {
  wire::bytes sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return sig;
  std::size_t len = 0;
  if (EVP_DigestSignInit(ctx, nullptr, state_->md, nullptr, state_->key) == 1 &&
      EVP_DigestSignUpdate(ctx, data.data(), data.size()) == 1 &&
      EVP_DigestSignFinal(ctx, nullptr, &len) == 1) {
    sig.resize(len);
    if (EVP_DigestSignFinal(ctx, sig.data(), &len) == 1)
      sig.resize(len);
    else
      sig.clear();
  }
  EVP_MD_CTX_free(ctx);
  return sig;
}

}  // namespace brood::node
