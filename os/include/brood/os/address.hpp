#pragma once
// Socket addresses as uWSGI writes them: "host:port" (TCP), ":port" (TCP, all interfaces),
// anything without ':' is a unix socket path. "unix:PATH" is accepted too.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace brood::os {

struct address {
  enum class kind { tcp, unix_path };
  kind type = kind::tcp;
  std::string host;  // tcp: empty means all interfaces
  std::uint16_t port = 0;
  std::string path;  // unix_path

  std::string to_string() const;
  friend bool operator==(const address&, const address&) = default;
};

// Parses `text`. On failure returns nullopt and sets `why` (e.g. "port 70000 out of range in
// \"127.0.0.1:70000\"").
std::optional<address> parse_address(std::string_view text, std::string* why = nullptr);

}  // namespace brood::os
