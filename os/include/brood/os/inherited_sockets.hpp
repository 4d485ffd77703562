#pragma once
// Listening sockets a process inherits from its predecessor (docs/uwsgi-compat.md §17): in a
// rolling re-fork the emperor takes the old vassal's listening sockets and hands them to the new
// one, which the fork server describes in BROOD_INHERITED_SOCKETS (comma-separated fd numbers).
// The new vassal serves them instead of binding the same addresses again, so no connection is
// refused while the old one hands over. Users: the node's bind_all (its uwsgi and HTTP sockets)
// and the master's stats server; whatever neither takes is closed once they are set up.
// Not thread-safe (the node's start-up is single-threaded).
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "brood/os/address.hpp"
#include "brood/os/listener.hpp"

namespace brood::os {

inline constexpr const char* inherited_sockets_variable = "BROOD_INHERITED_SOCKETS";

class inherited_sockets {
 public:
  inherited_sockets() = default;
  inherited_sockets(inherited_sockets&&) noexcept = default;
  inherited_sockets& operator=(inherited_sockets&&) noexcept = default;

  // The sockets `value` names ("5,6,9"). Each fd must be a listening stream socket (adopt_socket:
  // described, made non-blocking, close-on-exec); anything else is logged and closed ("inherited
  // fd 6: not a listening stream socket: closed"), a token that is no fd number logged and
  // skipped. Owns the fds it keeps.
  static inherited_sockets parse(std::string_view value);

  // The process's set: BROOD_INHERITED_SOCKETS read (and unset, so no program exec'd later sees
  // stale fd numbers) on the first call; empty without it. Later calls return the same set.
  static inherited_sockets& of_process();

  // The inherited socket `addr` names (names_socket: the same unix path, or the same TCP port and
  // host), removed from the set; nullopt when none does.
  std::optional<bound_socket> take(const address& addr);

  // Closes every socket nobody took, one log line each ("inherited socket ADDR (fd N) is not
  // configured any more: closed").
  void close_leftovers();

  std::size_t size() const noexcept { return sockets_.size(); }
  bool empty() const noexcept { return sockets_.empty(); }

 private:
  std::vector<bound_socket> sockets_;
};

}  // namespace brood::os
