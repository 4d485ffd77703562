#pragma once
// What a member announces about itself: a fresh uuid per start, the host name, the pid.
#include <string>

#include "brood/legion/config.hpp"
#include "brood/legion/election.hpp"

namespace brood::legion {

// A random (version 4) uuid, 36 characters.
std::string random_uuid();

// The identity of this process's member of `c`: a new uuid, gethostname(), getpid().
identity make_identity(const legion_config& c);

// The election's parameters of `c` (its members' addresses, quorum, timing).
election_params make_params(const legion_config& c, const timing& t);

}  // namespace brood::legion
