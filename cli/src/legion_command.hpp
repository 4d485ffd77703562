#pragma once
// `brood legion ADDR [--legion NAME] [--secret S] [--ini FILE] [--json] [--timeout S]`: asks the
// legion member at ADDR for its view (docs/legion.md "brood legion ADDR") and prints it: the lord,
// the epoch, the quorum, the members alive and when each was last seen. NAME and S come from
// the options, else from the `legion` lines of FILE (the one whose ADDR is ADDR, else the only
// one). Exit status: 0 answered, 1 no (valid) answer, 2 bad usage.
#include <string>
#include <vector>

namespace brood::cli {

int run_legion(const std::vector<std::string>& args);  // the words after "legion"

}  // namespace brood::cli
