#pragma once
// The hook actions of hook-NAME / exec-NAME (docs/config.md, "Process and files"), as uWSGI runs
// them. Each action is "NAME:ARG":
//   exec:CMD        run CMD with /bin/sh -c; a non-zero exit fails the hook
//   mkdir:DIR       mkdir DIR (0777 less the umask); an existing DIR fails, as in uWSGI
//   chdir:DIR       chdir DIR
//   print:TEXT / log:TEXT   write TEXT as a log line
//   unlink:PATH     remove PATH
//   write:PATH TEXT write TEXT into PATH (created or truncated)
//   putenv:KEY=VALUE        set an environment variable
//   exit[:N]        end the process with status N (0 when absent)
// Every action is logged before it runs: running "ACTION" (POINT)...
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brood/node/process_config.hpp"

namespace brood::node {

// uWSGI's words for a hook point: "asap", "pre app", "as root", ...
std::string_view hook_point_name(hook_point p);

// "" when `action` names a known action; else why not ("hook action not found: foo").
std::string check_hook_action(std::string_view action);

// The outcome of the hooks of one point: ok, or the exit status the node must end with (an
// exit: action, or 1 after a failure that was logged with the reason).
struct hook_outcome {
  std::optional<int> exit_status;
  bool ok() const { return !exit_status; }
};

// Runs `actions` in order, stopping at the first failure ("command \"false\" exited with
// non-zero code: 1", "mkdir(\"d\"): File exists", logged). Not thread-safe (chdir, putenv).
hook_outcome run_hooks(const std::vector<std::string>& actions, hook_point p);

// The same for the actions cfg gives `p`.
inline hook_outcome run_hooks(const process_config& cfg, hook_point p) {
  return run_hooks(cfg.at(p), p);
}

}  // namespace brood::node
