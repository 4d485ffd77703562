#pragma once
// subscriptions-sign-check DIGEST:DIR (docs/uwsgi-compat.md §10): a subscription for KEY must carry
// an RSA signature (DIGEST, e.g. sha256) over its signed base that the public key DIR/KEY.pem
// verifies, and a "unix" time not older than the tolerance; for a node already known, "unix"
// must be greater than the last one it sent (anti-replay; checked by the caller with the table).
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "brood/os/status.hpp"
#include "brood/wire/bytes.hpp"
#include "brood/wire/subscription.hpp"

namespace brood::router {

class sign_check {
 public:
  // `spec` is "DIGEST:DIR". Errors: no ':' or an empty part, a digest OpenSSL does not know.
  static os::result<sign_check> open(std::string_view spec, std::chrono::seconds tolerance);

  // ok, or why `s` (signed base `base`) is refused: unsigned, no unix, too old, no key file, bad
  // signature. `now_unix` is the wall clock.
  os::status verify(const wire::subscription& s, wire::bytes_view base,
                    std::int64_t now_unix) const;

 private:
  sign_check(std::string digest, std::string dir, std::chrono::seconds tolerance)
      : digest_(std::move(digest)), dir_(std::move(dir)), tolerance_(tolerance) {}
  std::string digest_;
  std::string dir_;
  std::chrono::seconds tolerance_;
};

}  // namespace brood::router
