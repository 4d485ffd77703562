#include "process_options.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "brood/node/hooks.hpp"
#include "option_values.hpp"

namespace brood::cli {
namespace {

using node::hook_point;

// One hook point: its uWSGI name (hook-NAME, and exec-NAME where uWSGI has it).
struct hook_name {
  hook_point point;
  const char* name;
  bool exec;
};
constexpr hook_name hook_names[] = {
    {hook_point::asap, "asap", true},
    {hook_point::pre_jail, "pre-jail", true},
    {hook_point::in_jail, "in-jail", true},
    {hook_point::post_jail, "post-jail", true},
    {hook_point::pre_app, "pre-app", true},
    {hook_point::post_app, "post-app", true},
    {hook_point::as_root, "as-root", true},
    {hook_point::as_user, "as-user", true},
    {hook_point::as_user_atexit, "as-user-atexit", true},
    {hook_point::master_start, "master-start", false},
    {hook_point::post_fork, "post-fork", false},
    {hook_point::accepting, "accepting", false},
};

// Switches uWSGI configs carry that change nothing in brood (what each means: docs/config.md).
constexpr const char* accepted_switches[][2] = {
    {"single-interpreter", "uWSGI's one-interpreter mode: brood always runs one interpreter"},
    {"thunder-lock", "uWSGI's accept lock: brood's workers already share the accept fairly"},
    {"ignore-sigpipe", "do not log SIGPIPE: brood never gets it (writes use MSG_NOSIGNAL)"},
    {"ignore-write-errors", "do not log failed writes to clients"},
    {"disable-write-exception", "no Python exception for a failed write to a client"},
    {"master-as-root", "the master stays root after uid/gid; accepted, brood drops it too"},
};

// An octal file mode ("660", "0660"), at most 07777.
class mode_semantic : public po::typed_value<std::string> {
 public:
  explicit mode_semantic(bool optional) : po::typed_value<std::string>(nullptr) {
    if (optional) implicit_value("666", "666");
  }
  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    if (tokens.size() > 1) throw bad_value(tokens.front(), "given more than one value");
    const std::string s = tokens.empty() || tokens.front().empty() ? "666" : tokens.front();
    if (s.size() > 5 || s.find_first_not_of("01234567") != std::string::npos ||
        std::stoul(s, nullptr, 8) > 07777)
      throw bad_value(s, "not an octal mode (such as 660)");
    store = s;
  }
};

// KEY=VALUE with a non-empty KEY; repeatable.
class env_semantic : public po::typed_value<std::vector<std::string>> {
 public:
  env_semantic() : po::typed_value<std::vector<std::string>>(nullptr) { composing(); }
  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    if (store.empty()) store = std::vector<std::string>{};
    for (const std::string& s : tokens) {
      if (s.find('=') == std::string::npos || s.front() == '=')
        throw bad_value(s, "expected KEY=VALUE");
      boost::any_cast<std::vector<std::string>&>(store).push_back(s);
    }
  }
};

// mount MOUNTPOINT=APP; repeatable.
class mount_semantic : public po::typed_value<std::vector<std::string>> {
 public:
  mount_semantic() : po::typed_value<std::vector<std::string>>(nullptr) { composing(); }
  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    if (store.empty()) store = std::vector<std::string>{};
    for (const std::string& s : tokens) {
      const auto eq = s.find('=');
      if (eq == std::string::npos || eq + 1 == s.size())
        throw bad_value(s, "expected MOUNTPOINT=APP (a file or module[:callable])");
      boost::any_cast<std::vector<std::string>&>(store).push_back(s);
    }
  }
};

// smart-attach-daemon PIDFILE CMD; repeatable.
class smart_daemon_semantic : public po::typed_value<std::vector<std::string>> {
 public:
  smart_daemon_semantic() : po::typed_value<std::vector<std::string>>(nullptr) { composing(); }
  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    if (store.empty()) store = std::vector<std::string>{};
    for (const std::string& s : tokens) {
      const auto space = s.find(' ');
      if (space == 0 || space == std::string::npos ||
          s.find_first_not_of(' ', space) == std::string::npos)
        throw bad_value(s, "expected PIDFILE COMMAND");
      boost::any_cast<std::vector<std::string>&>(store).push_back(s);
    }
  }
};

// A repeatable hook action ("exec:CMD", "mkdir:DIR", ...); an unknown action is refused.
class hook_semantic : public po::typed_value<std::vector<std::string>> {
 public:
  explicit hook_semantic(bool exec)
      : po::typed_value<std::vector<std::string>>(nullptr), exec_(exec) {
    composing();
  }
  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    if (store.empty()) store = std::vector<std::string>{};
    for (const std::string& s : tokens) {
      if (s.empty()) throw bad_value(s, "empty value");
      if (!exec_) {
        const std::string why = node::check_hook_action(s);
        if (!why.empty()) throw bad_value(s, why);
      }
      boost::any_cast<std::vector<std::string>&>(store).push_back(exec_ ? "exec:" + s : s);
    }
  }

 private:
  bool exec_;
};

mode_t octal(const std::string& s) { return static_cast<mode_t>(std::stoul(s, nullptr, 8)); }

void add_files(po::options_description& g) {
  g.add_options()  //
      ("chdir", po::value<std::string>()->value_name("DIR"),
       "change to DIR before the application is loaded")(
          "chdir2", po::value<std::string>()->value_name("DIR"),
          "change to DIR after privileges are dropped")(
          "env", (new env_semantic)->value_name("KEY=VALUE"),
          "set an environment variable KEY=VALUE; repeatable")(
          "umask", (new mode_semantic(false))->value_name("MODE"), "set the process umask (octal)")(
          "pidfile", po::value<std::string>()->value_name("PATH"),
          "write the master's pid to PATH (as root, before binding)")(
          "pidfile2", po::value<std::string>()->value_name("PATH"),
          "write the master's pid to PATH after privileges are dropped")(
          "vacuum", flag_value(), "remove the unix sockets and pidfiles on exit")(
          "chmod-socket", (new mode_semantic(true))->value_name("MODE"),
          "mode of the unix socket files (octal; alone: 666)")(
          "chown-socket", po::value<std::string>()->value_name("USER[:GROUP]"),
          "owner of the unix socket files");
}

void add_processes(po::options_description& g) {
  g.add_options()  //
      ("uid", po::value<std::string>()->value_name("USER"),
       "after binding, run as this user (name or number; only when root)")(
          "gid", po::value<std::string>()->value_name("GROUP"),
          "after binding, run as this group (name or number; only when root)")(
          "die-on-term", flag_value(), "SIGTERM stops the node (brood always does)")(
          "no-orphans", flag_value(), "workers die when the master dies")(
          "need-app", flag_value(), "exit with status 22 when no application is loaded")(
          "auto-procname", flag_value(),
          "process titles 'uWSGI master', 'uWSGI worker N' (ps, top)")(
          "procname", po::value<std::string>()->value_name("NAME"), "title of every process")(
          "procname-master", po::value<std::string>()->value_name("NAME"), "title of the master")(
          "procname-prefix", po::value<std::string>()->value_name("TEXT"),
          "prefix of every process title")("procname-prefix-spaced",
                                           po::value<std::string>()->value_name("TEXT"),
                                           "prefix of every process title, followed by a space")(
          "touch-reload", string_list_value()->value_name("FILE"),
          "gracefully reload the workers when FILE's mtime changes; repeatable")(
          "attach-daemon", string_list_value()->value_name("CMD"),
          "the master runs CMD with /bin/sh -c, respawns it when it dies, stops it at exit; "
          "repeatable")("smart-attach-daemon",
                        (new smart_daemon_semantic)->value_name("PIDFILE CMD"),
                        "the master runs CMD (which daemonizes and writes PIDFILE) and runs it "
                        "again when the pid in PIDFILE is gone; repeatable");
  for (const auto& [name, help] : accepted_switches) g.add_options()(name, flag_value(), help);
  g.add_options()  //
      ("mount", (new mount_semantic)->value_name("MOUNTPOINT=APP"),
       "serve the WSGI app APP (a .py file or module[:callable]) under MOUNTPOINT; repeatable")(
          "manage-script-name", flag_value(),
          "choose the mount by the longest prefix of PATH_INFO and move it to SCRIPT_NAME");
  for (const char* name : {"virtualenv", "venv", "home", "pyhome"})
    g.add_options()(name, po::value<std::string>()->value_name("DIR"),
                    "the Python virtualenv (PYTHONHOME) the application runs in");
}

void add_hooks(po::options_description& g) {
  for (const hook_name& h : hook_names) {
    const std::string name = h.name;
    g.add_options()(("hook-" + name).c_str(), (new hook_semantic(false))->value_name("ACTION"),
                    ("run ACTION (exec:, mkdir:, chdir:, print:, log:, unlink:, write:, "
                     "putenv:, exit:) at the " +
                     name + " point; repeatable")
                        .c_str());
    if (h.exec)
      g.add_options()(("exec-" + name).c_str(), (new hook_semantic(true))->value_name("CMD"),
                      ("run CMD with /bin/sh -c at the " + name +
                       " point; a failure stops the node; repeatable")
                          .c_str());
  }
}

}  // namespace

po::options_description process_option_group(unsigned help_width) {
  po::options_description group("Process and files", help_width, help_width / 2);
  add_files(group);
  add_processes(group);
  add_hooks(group);
  return group;
}

void apply_process_options(const po::variables_map& vm, node::node_config& cfg) {
  node::process_config& p = cfg.process;
  p.chdir = text(vm, "chdir");
  p.chdir2 = text(vm, "chdir2");
  p.env = strings(vm, "env");
  if (vm.count("umask")) p.umask = octal(vm["umask"].as<std::string>());
  // Written before chdir in uWSGI: relative to the directory brood starts in.
  p.pidfile = text(vm, "pidfile");
  if (!p.pidfile.empty()) p.pidfile = std::filesystem::absolute(p.pidfile).string();
  p.pidfile2 = text(vm, "pidfile2");
  p.vacuum = vm["vacuum"].as<bool>();
  if (vm.count("chmod-socket")) p.chmod_socket = octal(vm["chmod-socket"].as<std::string>());
  p.chown_socket = text(vm, "chown-socket");
  p.uid = text(vm, "uid");
  p.gid = text(vm, "gid");
  p.die_on_term = vm["die-on-term"].as<bool>();
  p.no_orphans = vm["no-orphans"].as<bool>();
  p.auto_procname = vm["auto-procname"].as<bool>();
  p.procname = text(vm, "procname");
  p.procname_master = text(vm, "procname-master");
  p.procname_prefix = text(vm, "procname-prefix");
  if (vm.count("procname-prefix-spaced"))
    p.procname_prefix = vm["procname-prefix-spaced"].as<std::string>() + " ";
  p.touch_reload = strings(vm, "touch-reload");
  p.attach_daemons = strings(vm, "attach-daemon");
  p.smart_attach_daemons = strings(vm, "smart-attach-daemon");
  for (const hook_name& h : hook_names) {
    std::vector<std::string>& list = p.at(h.point);
    for (const char* kind : {"hook-", "exec-"}) {
      if (!h.exec && kind[0] == 'e') continue;
      std::vector<std::string> more = strings(vm, (kind + std::string(h.name)).c_str());
      list.insert(list.end(), more.begin(), more.end());
    }
  }
  if (!p.attach_daemons.empty() || !p.smart_attach_daemons.empty() || !p.touch_reload.empty())
    cfg.master = true;  // the master runs them
}

void apply_process_app_options(const po::variables_map& vm, python::app_options& app) {
  app.need_app = vm["need-app"].as<bool>();
  app.mounts = strings(vm, "mount");
  app.manage_script_name = vm["manage-script-name"].as<bool>();
  for (const char* name : {"virtualenv", "venv", "home", "pyhome"})
    if (app.virtualenv.empty()) app.virtualenv = text(vm, name);
}

}  // namespace brood::cli
