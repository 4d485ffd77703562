#include "brood/router/sign_check.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <memory>

namespace brood::router {
namespace {

os::status refused(std::string message) {
  return os::status(std::make_error_code(std::errc::permission_denied), std::move(message));
}

struct file_closer {
  void operator()(FILE* f) const noexcept { std::fclose(f); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

}  // namespace

os::result<sign_check> sign_check::open(std::string_view spec, std::chrono::seconds tolerance) {
  const std::size_t colon = spec.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == spec.size())
    return os::status(
        std::make_error_code(std::errc::invalid_argument),
        "subscriptions-sign-check wants DIGEST:DIR, got \"" + std::string(spec) + "\"");
  std::string digest(spec.substr(0, colon));
  if (!EVP_get_digestbyname(digest.c_str()))
    return os::status(std::make_error_code(std::errc::invalid_argument),
                      "unknown digest \"" + digest + "\" in subscriptions-sign-check");
  return sign_check(std::move(digest), std::string(spec.substr(colon + 1)), tolerance);
}

os::status sign_check::verify(const wire::subscription& s, wire::bytes_view base,
                              std::int64_t now_unix) const {
  const std::string key(s.key);
  if (s.sign.empty()) return refused("unsigned subscription for key \"" + key + "\"");
  if (!s.unix_time) return refused("signed subscription without unix for \"" + key + "\"");
  if (static_cast<std::int64_t>(*s.unix_time) < now_unix - tolerance_.count())
    return refused("stale subscription for \"" + key + "\": unix " + std::to_string(*s.unix_time) +
                   " older than " + std::to_string(now_unix - tolerance_.count()));
  if (key.find('/') != std::string::npos || key.starts_with('.'))
    return refused("key \"" + key + "\" cannot name a key file");
  const std::string path = dir_ + "/" + key + ".pem";
  std::unique_ptr<FILE, file_closer> f(std::fopen(path.c_str(), "r"));
  if (!f) return os::status::last_errno("cannot open public key " + path);
  std::unique_ptr<EVP_PKEY, pkey_free> pk(PEM_read_PUBKEY(f.get(), nullptr, nullptr, nullptr));
  if (!pk) return refused("no public key in " + path);
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = EVP_get_digestbyname(digest_.c_str());
  if (!ctx || !md || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pk.get()) != 1 ||
      EVP_DigestVerifyUpdate(ctx.get(), base.data(), base.size()) != 1)
    return refused("cannot verify the signature of \"" + key + "\"");
  const auto* sig = reinterpret_cast<const unsigned char*>(s.sign.data());
  if (EVP_DigestVerifyFinal(ctx.get(), sig, s.sign.size()) != 1)
    return refused("bad signature for key \"" + key + "\"");
  return {};
}

}  // namespace brood::router
