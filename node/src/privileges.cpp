#include "privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <vector>

#include "brood/os/log.hpp"

namespace brood::node {
namespace {

// A decimal id when `s` is all digits.
std::optional<unsigned> number_of(const std::string& s) {
  unsigned n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return n;
}

os::status not_found(const char* what, const std::string& name) {
  return os::status(std::make_error_code(std::errc::invalid_argument),
                    std::string(what) + " " + name + " not found");
}

bool logged_errno(const std::string& what) {
  os::log(os::status::last_errno(what).message());
  return false;
}

}  // namespace

os::result<uid_t> find_user(const std::string& name) {
  if (auto n = number_of(name)) return static_cast<uid_t>(*n);
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
    return not_found("user", name);
  return found->pw_uid;
}

os::result<gid_t> find_group(const std::string& name) {
  if (auto n = number_of(name)) return static_cast<gid_t>(*n);
  std::vector<char> buf(16384);
  group gr{};
  group* found = nullptr;
  if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || !found)
    return not_found("group", name);
  return found->gr_gid;
}

bool chown_path(const std::string& path, const std::string& owner) {
  const auto colon = owner.find(':');
  auto uid = find_user(owner.substr(0, colon));
  if (!uid) {
    os::log("chown-socket: ", uid.error().message());
    return false;
  }
  gid_t gid = static_cast<gid_t>(-1);
  if (colon != std::string::npos) {
    auto g = find_group(owner.substr(colon + 1));
    if (!g) {
      os::log("chown-socket: ", g.error().message());
      return false;
    }
    gid = *g;
  }
  if (::chown(path.c_str(), *uid, gid) != 0) return logged_errno("chown(\"" + path + "\")");
  return true;
}

bool drop_privileges(const process_config& cfg) {
  if (cfg.uid.empty() && cfg.gid.empty()) return true;
  if (::geteuid() != 0) {
    os::log("uWSGI running as non-root: uid and gid are ignored");
    return true;
  }
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  if (!cfg.uid.empty()) {
    auto u = find_user(cfg.uid);
    if (!u) return os::log(u.error().message()), false;
    uid = *u;
  }
  if (!cfg.gid.empty()) {
    auto g = find_group(cfg.gid);
    if (!g) return os::log(g.error().message()), false;
    gid = *g;
  }
  if (gid) {
    // The user's supplementary groups (initgroups) when it has a name, else only the gid.
    passwd* pw = uid ? ::getpwuid(*uid) : nullptr;
    if (pw ? ::initgroups(pw->pw_name, *gid) != 0 : ::setgroups(1, &*gid) != 0)
      return logged_errno("setgroups()");
    if (::setgid(*gid) != 0) return logged_errno("setgid()");
    os::log("setgid() to ", *gid);
  } else if (uid && ::setgroups(0, nullptr) != 0) {
    return logged_errno("setgroups()");
  }
  if (uid) {
    if (::setuid(*uid) != 0) return logged_errno("setuid()");
    os::log("setuid() to ", *uid);
  }
  return true;
}

}  // namespace brood::node
