#pragma once
// static-map / static-map2 (docs/config.md "HTTP"): files answered by the worker itself.
// Private to the node module.
#include <optional>
#include <string_view>

#include "brood/node/http_config.hpp"
#include "brood/node/router.hpp"

namespace brood::node::detail {

// The reply for `path` (PATH_INFO, percent-decoded) when a mapping of cfg.static_maps names an
// existing regular file: 200 with Content-Type (by extension), Content-Length and Last-Modified,
// or 304 when `if_modified_since` is not older than the file. 403 when the path leaves the
// mapped directory (.., symbolic links), or the file cannot be read. nullopt: no mapping matches,
// or no such file (as uWSGI, the application answers then). Only GET and HEAD (`method`) are
// served. The reply is complete (the HTTP framing of finish_http_reply applies on top).
std::optional<reply> serve_static(const http_config& cfg, std::string_view method,
                                  std::string_view path, std::string_view if_modified_since);

// The Content-Type of a file name by its extension ("application/octet-stream" if unknown).
std::string_view mime_type(std::string_view name) noexcept;

}  // namespace brood::node::detail
