// prepare_process (brood/node/process_setup.hpp): what runs before the application is loaded.
#include "brood/node/process_setup.hpp"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "brood/node/hooks.hpp"
#include "brood/os/log.hpp"

namespace brood::node {
namespace {

bool apply_env(const std::vector<std::string>& env) {
  for (const std::string& kv : env) {
    const auto eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (::setenv(key.c_str(), value.c_str(), 1) != 0) {
      os::log("env ", kv, ": ", std::strerror(errno));
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<int> prepare_process(const process_config& cfg) {
  for (hook_point p :
       {hook_point::asap, hook_point::pre_jail, hook_point::in_jail, hook_point::post_jail}) {
    if (hook_outcome h = run_hooks(cfg, p); !h.ok()) return h.exit_status;
  }
  if (cfg.umask) ::umask(*cfg.umask);
  if (!apply_env(cfg.env)) return 1;
  if (!cfg.chdir.empty()) {
    if (::chdir(cfg.chdir.c_str()) != 0) {
      os::log("chdir(): ", std::strerror(errno), " [", cfg.chdir, "]");
      return 1;
    }
    os::log("chdir() to ", cfg.chdir);
  }
  return std::nullopt;
}

}  // namespace brood::node
