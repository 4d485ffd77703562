#pragma once
// What a member announces about itself: a fresh uuid per start, the host name, the pid.
#include <cstdint>
#include <string>

#include "brood/legion/config.hpp"
#include "brood/legion/election.hpp"
#include "brood/legion/message.hpp"

namespace brood::legion {

// A random (version 4) uuid, 36 characters.
std::string random_uuid();

// The identity of this process's member of `c`: a new uuid, gethostname(), getpid().
identity make_identity(const legion_config& c);

// The wall clock in ms since the epoch (the messages' unix_ms, skew checks).
std::int64_t unix_ms_now();

// `m` with the envelope of every message `self` sends: legion, from, uuid, the next of `seq`,
// unix_ms, valor, hostname, pid, scroll.
message stamp(message m, const identity& self, std::uint64_t& seq);

// The election's parameters of `c` (its members' addresses, quorum, timing).
election_params make_params(const legion_config& c, const timing& t);

}  // namespace brood::legion
