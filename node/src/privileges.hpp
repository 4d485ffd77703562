#pragma once
// Users, groups and the privilege drop of a node (uid, gid, chown-socket).
#include <sys/types.h>

#include <string>

#include "brood/node/process_config.hpp"
#include "brood/os/status.hpp"

namespace brood::node {

// A user by name or number ("nobody", "65534"). Error: "user NAME not found".
os::result<uid_t> find_user(const std::string& name);
// A group by name or number. Error: "group NAME not found".
os::result<gid_t> find_group(const std::string& name);

// chown-socket: gives `path` the owner "USER[:GROUP]". False after logging why.
bool chown_path(const std::string& path, const std::string& owner);

// When the process is root and cfg names a uid or gid: setgroups (initgroups of the user, or
// only the gid), setgid, setuid, each logged ("setgid() to 65534", "setuid() to 65534"). Not
// root: nothing (logged when uid/gid were asked). False after logging why (an unknown name, a
// failing call).
bool drop_privileges(const process_config& cfg);

}  // namespace brood::node
