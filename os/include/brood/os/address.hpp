#pragma once
// Socket addresses as uWSGI writes them: "host:port" (TCP), ":port" (TCP, all interfaces),
// anything without ':' is a unix socket path. "unix:PATH" is accepted too. This is the one
// parser of socket addresses in brood (the node's sockets, the client's targets, the emperor's
// on-demand sockets, the CLI's checks); resolving one into a sockaddr is socket_address.hpp's.
#include <cstdint>
#include <string>
#include <string_view>

#include "brood/os/status.hpp"

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

// Parses `text`. Only the form is checked here (no lookup). Errors: std::errc::invalid_argument,
// with a message naming the fault and the text, e.g. "port 70000 out of range in
// \"127.0.0.1:70000\"", "missing port in \"h:\"", "empty address".
result<address> parse_address(std::string_view text);

}  // namespace brood::os
