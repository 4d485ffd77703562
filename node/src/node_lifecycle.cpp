#include "node_lifecycle.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "brood/node/hooks.hpp"
#include "brood/os/log.hpp"
#include "privileges.hpp"

namespace brood::node {

node_lifecycle::~node_lifecycle() {
  if (started_) (void)run_hooks(cfg_, hook_point::as_user_atexit);
  if (!cfg_.vacuum) return;
  for (const std::string& path : pidfiles_)
    if (::unlink(path.c_str()) == 0) os::log("VACUUM: pidfile removed.");
}

bool node_lifecycle::write_pidfile(const std::string& path) {
  os::log("writing pidfile to ", path);
  std::ofstream out(path, std::ios::trunc);
  out << ::getpid() << "\n";
  out.flush();
  if (!out) {
    os::log("cannot write pidfile ", path, ": ", std::strerror(errno));
    return false;
  }
  pidfiles_.push_back(path);
  return true;
}

bool node_lifecycle::before_bind() { return cfg_.pidfile.empty() || write_pidfile(cfg_.pidfile); }

std::optional<int> node_lifecycle::after_bind(const std::vector<std::string>& unix_paths) {
  if (!cfg_.chown_socket.empty())
    for (const std::string& path : unix_paths)
      if (!chown_path(path, cfg_.chown_socket)) return 1;
  if (hook_outcome h = run_hooks(cfg_, hook_point::as_root); !h.ok()) return h.exit_status;
  if (!drop_privileges(cfg_)) return 1;
  started_ = true;
  if (hook_outcome h = run_hooks(cfg_, hook_point::as_user); !h.ok()) return h.exit_status;
  if (!cfg_.pidfile2.empty() && !write_pidfile(cfg_.pidfile2)) return 1;
  if (!cfg_.chdir2.empty()) {
    if (::chdir(cfg_.chdir2.c_str()) != 0) {
      os::log("chdir(): ", std::strerror(errno), " [", cfg_.chdir2, "]");
      return 1;
    }
    os::log("chdir() to ", cfg_.chdir2);
  }
  return std::nullopt;
}

std::string process_title(const process_config& cfg, int worker_id) {
  std::string name;
  if (worker_id == 0 && !cfg.procname_master.empty()) {
    name = cfg.procname_master;
  } else if (!cfg.procname.empty()) {
    name = cfg.procname;
  } else if (cfg.auto_procname || !cfg.procname_prefix.empty()) {  // a prefix alone: as uWSGI
    name = worker_id == 0  ? "uWSGI master"
           : worker_id < 0 ? "uWSGI spooler"
                           : "uWSGI worker " + std::to_string(worker_id);
  }
  if (name.empty()) return {};
  return cfg.procname_prefix + name;
}

}  // namespace brood::node
