#pragma once
// Which key a request is routed by (docs/uwsgi-compat.md §10): UWSGI_FASTROUTER_KEY, else
// HTTP_HOST, else SERVER_NAME; then the keys tried in order (dotsplit). Pure.
#include <cstdint>
#include <string_view>
#include <vector>

#include "brood/wire/vars.hpp"

namespace brood::router {

// The request's key (a view into `vars`), empty when it has none of the three.
std::string_view request_key(const std::vector<wire::var>& vars) noexcept;

// The keys to look up, in order: `key`; with `dotsplit`, the key cut at each next '.' keeping
// the dot ("www.a.com", ".a.com", ".com"), at most 5 in all. Views into `key`.
std::vector<std::string_view> lookup_keys(std::string_view key, bool dotsplit);

// uWSGI's slot hash (djb33x % 0xffff), shown as "hash" in the stats.
std::uint32_t key_hash(std::string_view key) noexcept;

}  // namespace brood::router
