// master_core's zerg-mode events.
#include "master_core.hpp"

namespace brood::node {

// SOS rate limit: see the lead (the vassal sends at most one SOS per zerg start).
void master_core::on_zerg_attached(const moment& /*now*/) {}

}  // namespace brood::node
