// The hook actions (brood/node/hooks.hpp).
#include "brood/node/hooks.hpp"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "brood/os/child_process.hpp"
#include "brood/os/log.hpp"
#include "shell_command.hpp"

namespace brood::node {
namespace {

constexpr std::string_view actions[] = {"exec",   "mkdir", "chdir",  "print", "log",
                                        "unlink", "write", "putenv", "exit"};

// "NAME:ARG" split; an action without ':' has an empty ARG.
std::pair<std::string_view, std::string> split(std::string_view action) {
  const auto colon = action.find(':');
  if (colon == std::string_view::npos) return {action, {}};
  return {action.substr(0, colon), std::string(action.substr(colon + 1))};
}

bool failed(const std::string& what) {
  os::log(what, ": ", std::strerror(errno));
  return false;
}

bool run_exec(const std::string& command) {
  auto st = run_shell(command);
  if (!st) {
    os::log(st.error().message());
    return false;
  }
  if (WIFEXITED(*st) && WEXITSTATUS(*st) == 0) return true;
  if (WIFEXITED(*st))
    os::log("command \"", command, "\" exited with non-zero code: ", WEXITSTATUS(*st));
  else
    os::log("command \"", command, "\" ", os::describe_exit(*st));
  return false;
}

bool run_write(const std::string& arg) {
  const auto space = arg.find(' ');
  const std::string path = arg.substr(0, space);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (space != std::string::npos) out << arg.substr(space + 1);
  out.flush();
  if (!out) return failed("write(\"" + path + "\")");
  return true;
}

// One action; false after logging why it failed. `exit_status` is set by exit:.
bool run_one(std::string_view name, const std::string& arg, std::optional<int>& exit_status) {
  if (name == "exec") return run_exec(arg);
  if (name == "mkdir") return ::mkdir(arg.c_str(), 0777) == 0 || failed("mkdir(\"" + arg + "\")");
  if (name == "chdir") return ::chdir(arg.c_str()) == 0 || failed("chdir(\"" + arg + "\")");
  if (name == "unlink") return ::unlink(arg.c_str()) == 0 || failed("unlink(\"" + arg + "\")");
  if (name == "write") return run_write(arg);
  if (name == "putenv") {
    const auto eq = arg.find('=');
    if (eq == std::string::npos) return ::unsetenv(arg.c_str()) == 0;
    return ::setenv(arg.substr(0, eq).c_str(), arg.substr(eq + 1).c_str(), 1) == 0 ||
           failed("putenv(\"" + arg + "\")");
  }
  if (name == "exit") {
    int n = 0;
    std::from_chars(arg.data(), arg.data() + arg.size(), n);
    exit_status = n;
    return true;
  }
  os::log(arg);  // print, log
  return true;
}

}  // namespace

std::string_view hook_point_name(hook_point p) {
  switch (p) {
    case hook_point::asap:
      return "asap";
    case hook_point::pre_jail:
      return "pre jail";
    case hook_point::in_jail:
      return "in jail";
    case hook_point::post_jail:
      return "post jail";
    case hook_point::pre_app:
      return "pre app";
    case hook_point::post_app:
      return "post app";
    case hook_point::as_root:
      return "as root";
    case hook_point::as_user:
      return "as user";
    case hook_point::as_user_atexit:
      return "atexit";
    case hook_point::master_start:
      return "master-start";
    case hook_point::post_fork:
      return "post-fork";
    case hook_point::accepting:
      return "accepting";
  }
  return "?";
}

std::string check_hook_action(std::string_view action) {
  const std::string_view name = split(action).first;
  for (std::string_view a : actions)
    if (name == a) return {};
  return "hook action not found: " + std::string(name);
}

hook_outcome run_hooks(const std::vector<std::string>& list, hook_point p) {
  hook_outcome out;
  for (const std::string& action : list) {
    auto [name, arg] = split(action);
    // exec-NAME actions are logged with their command alone, as uWSGI logs them.
    os::log("running \"", name == "exec" ? arg : action, "\" (", hook_point_name(p), ")...");
    if (!run_one(name, arg, out.exit_status)) {
      os::log("FATAL hook failed, destroying instance");
      out.exit_status = 1;
      return out;
    }
    if (out.exit_status) return out;
  }
  return out;
}

}  // namespace brood::node
