#pragma once
// A member's TCP connections must close when its process dies (the others then release its lease
// at once), so no forked child may keep copies of them: a node master forks its workers while its
// legions run. After watch_forks(), every child forked by this process closes, right after the
// fork, the sockets bound at a legion's port and those connected to a legion member.
#include <cstdint>
#include <string>
#include <vector>

#include "brood/legion/config.hpp"

namespace brood::legion {

// Adds the addresses of `c` to those closed in forked children; registers the fork handler once.
// REQUIRES: called before the sockets exist in a child, i.e. not concurrently with a fork.
void watch_forks(const config& c);

// The fds of this process's sockets that watch_forks() names (tests look at them).
std::vector<int> legion_sockets();
// What the fork handler runs in the child: closes legion_sockets().
void close_legion_sockets();

}  // namespace brood::legion
