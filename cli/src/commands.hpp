#pragma once
// The client subcommands, for people debugging a cluster:
//   brood call ADDR [--modifier1 N] [--modifier2 N] [--json TEXT | --string TEXT] [--timeout S]
//   brood ping ADDR [--timeout S]
//   brood spool ADDR KEY=VALUE... [--body TEXT] [--timeout S]   (prints "spooled")
// Exit status: 0 answered, 1 the call failed, 2 bad usage. Output on stdout, errors on stderr
// as "brood: ...".
#include <string>
#include <vector>

namespace brood::cli {

// `args` are the words after "call" / "ping" / "spool".
int run_call(const std::vector<std::string>& args);
int run_ping(const std::vector<std::string>& args);
int run_spool(const std::vector<std::string>& args);

}  // namespace brood::cli
