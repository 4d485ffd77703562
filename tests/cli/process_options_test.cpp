// The process and files options of `brood` (docs/config.md, "Process and files"): defaults, the
// value forms uWSGI accepts, ini files, and the errors. In-process, no network.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

using node::hook_point;
using process_options_test = options_fixture;

TEST_F(process_options_test, DefaultsAreOff) {
  const node::process_config p = parse({}).process;
  EXPECT_TRUE(p.chdir.empty());
  EXPECT_TRUE(p.env.empty());
  EXPECT_FALSE(p.umask);
  EXPECT_TRUE(p.pidfile.empty());
  EXPECT_FALSE(p.vacuum);
  EXPECT_FALSE(p.chmod_socket);
  EXPECT_TRUE(p.uid.empty());
  EXPECT_TRUE(p.attach_daemons.empty());
  EXPECT_FALSE(parse({}).master);
}

TEST_F(process_options_test, FilesAndEnvironment) {
  const node::process_config p =
      parse({"--chdir", "/srv/app", "--chdir2", "/tmp", "--env", "A=1", "--env", "B=x=y", "--umask",
             "022", "--pidfile", "/run/a.pid", "--pidfile2", "/run/b.pid", "--vacuum"})
          .process;
  EXPECT_EQ(p.chdir, "/srv/app");
  EXPECT_EQ(p.chdir2, "/tmp");
  EXPECT_EQ(p.env, (std::vector<std::string>{"A=1", "B=x=y"}));
  EXPECT_EQ(p.umask, mode_t{022});
  EXPECT_EQ(p.pidfile, "/run/a.pid");
  EXPECT_EQ(p.pidfile2, "/run/b.pid");
  EXPECT_TRUE(p.vacuum);
}

TEST_F(process_options_test, ARelativePidfileIsTheStartDirectorys) {
  // uWSGI writes it before chdir: relative to where it started.
  EXPECT_EQ(parse({"--pidfile", "run/x.pid", "--chdir", "/tmp"}).process.pidfile,
            (std::filesystem::current_path() / "run/x.pid").string());
}

TEST_F(process_options_test, ChmodSocketAloneIs666) {
  EXPECT_EQ(parse({"--chmod-socket"}).process.chmod_socket, mode_t{0666});
  EXPECT_EQ(parse({"--chmod-socket=660"}).process.chmod_socket, mode_t{0660});
  const std::string ini = write("a.ini", "[uwsgi]\nchmod-socket =\n");
  EXPECT_EQ(parse({"--ini", ini}).process.chmod_socket, mode_t{0666});
  const std::string ini2 =
      write("b.ini", "[uwsgi]\nchmod-socket = 664\nchown-socket = www-data:www-data\n");
  const node::process_config p = parse({"--ini", ini2}).process;
  EXPECT_EQ(p.chmod_socket, mode_t{0664});
  EXPECT_EQ(p.chown_socket, "www-data:www-data");
}

TEST_F(process_options_test, BadModesAndEnvAreRefusedNamingTheOption) {
  const std::string e = error_of({"--chmod-socket=rw"});
  EXPECT_NE(e.find("chmod-socket"), std::string::npos) << e;
  EXPECT_NE(e.find("not an octal mode"), std::string::npos) << e;
  EXPECT_NE(error_of({"--umask", "999"}).find("umask"), std::string::npos);
  const std::string env = error_of({"--env", "NOEQUALS"});
  EXPECT_NE(env.find("expected KEY=VALUE"), std::string::npos) << env;
  EXPECT_NE(error_of({"--vacuum", "maybe"}).find("vacuum"), std::string::npos);
}

TEST_F(process_options_test, UsersAndSwitches) {
  const std::string ini = write("c.ini",
                                "[uwsgi]\nuid = www-data\ngid = 33\ndie-on-term = true\n"
                                "need-app = true\nsingle-interpreter = true\nthunder-lock = true\n"
                                "ignore-sigpipe = true\nignore-write-errors = true\n"
                                "disable-write-exception = true\nmaster-as-root = true\n"
                                "no-orphans = true\n");
  const options_result r = parse_options({"--ini", ini, "--module", "app"});
  ASSERT_TRUE(r.options) << r.error;
  const node::process_config& p = r.options->config.process;
  EXPECT_EQ(p.uid, "www-data");
  EXPECT_EQ(p.gid, "33");
  EXPECT_TRUE(p.die_on_term);
  EXPECT_TRUE(p.no_orphans);
  EXPECT_TRUE(r.options->app.need_app);
}

TEST_F(process_options_test, VirtualenvAndItsAliases) {
  for (const char* name : {"--virtualenv", "--venv", "--home", "--pyhome"}) {
    const options_result r = parse_options({name, "/srv/venv", "--module", "app"});
    ASSERT_TRUE(r.options) << r.error;
    EXPECT_EQ(r.options->app.virtualenv, "/srv/venv") << name;
  }
}

TEST_F(process_options_test, ProcessTitles) {
  node::process_config p =
      parse({"--auto-procname", "--procname-prefix-spaced", "site", "--procname-master", "boss"})
          .process;
  EXPECT_TRUE(p.auto_procname);
  EXPECT_EQ(p.procname_prefix, "site ");
  EXPECT_EQ(p.procname_master, "boss");
  EXPECT_EQ(parse({"--procname-prefix", "x-"}).process.procname_prefix, "x-");
  EXPECT_EQ(parse({"--procname", "app"}).process.procname, "app");
}

TEST_F(process_options_test, TouchReloadAndAttachDaemonImplyMaster) {
  const node::node_config c =
      parse({"--touch-reload", "/a", "--touch-reload", "/b", "--attach-daemon", "memcached"});
  EXPECT_EQ(c.process.touch_reload, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(c.process.attach_daemons, (std::vector<std::string>{"memcached"}));
  EXPECT_TRUE(c.master);
  EXPECT_TRUE(parse({"--touch-reload", "/a"}).master);
}

TEST_F(process_options_test, SmartAttachDaemonTakesAPidfileAndACommand) {
  const node::node_config c = parse({"--smart-attach-daemon", "/tmp/m.pid memcached -d"});
  EXPECT_EQ(c.process.smart_attach_daemons, (std::vector<std::string>{"/tmp/m.pid memcached -d"}));
  EXPECT_TRUE(c.master);
  const std::string e = error_of({"--smart-attach-daemon", "/tmp/m.pid"});
  EXPECT_NE(e.find("expected PIDFILE COMMAND"), std::string::npos) << e;
}

TEST_F(process_options_test, ExecAndHookOptionsFillTheirPoints) {
  const node::process_config p =
      parse({"--exec-asap", "echo a", "--hook-asap", "mkdir:/tmp/x", "--exec-pre-app", "true",
             "--hook-as-user", "print:hi", "--exec-as-user-atexit", "rm -f /tmp/y",
             "--exec-as-root", "id", "--exec-post-app", "id", "--exec-pre-jail", "id"})
          .process;
  EXPECT_EQ(p.at(hook_point::asap), (std::vector<std::string>{"mkdir:/tmp/x", "exec:echo a"}));
  EXPECT_EQ(p.at(hook_point::pre_app), (std::vector<std::string>{"exec:true"}));
  EXPECT_EQ(p.at(hook_point::as_user), (std::vector<std::string>{"print:hi"}));
  EXPECT_EQ(p.at(hook_point::as_user_atexit), (std::vector<std::string>{"exec:rm -f /tmp/y"}));
  EXPECT_EQ(p.at(hook_point::as_root).size(), 1u);
  EXPECT_EQ(p.at(hook_point::post_app).size(), 1u);
  EXPECT_EQ(p.at(hook_point::pre_jail).size(), 1u);
}

TEST_F(process_options_test, WorkerAndMasterHookPointsHaveNoExecForm) {
  const node::process_config p = parse({"--hook-master-start", "print:m", "--hook-post-fork",
                                        "exec:true", "--hook-accepting", "log:a"})
                                     .process;
  EXPECT_EQ(p.at(hook_point::master_start), (std::vector<std::string>{"print:m"}));
  EXPECT_EQ(p.at(hook_point::post_fork), (std::vector<std::string>{"exec:true"}));
  EXPECT_EQ(p.at(hook_point::accepting), (std::vector<std::string>{"log:a"}));
  EXPECT_NE(error_of({"--exec-post-fork", "true"}).find("exec-post-fork"), std::string::npos);
}

TEST_F(process_options_test, AnUnknownHookActionIsRefused) {
  const std::string e = error_of({"--hook-asap", "foo:bar"});
  EXPECT_NE(e.find("hook-asap"), std::string::npos) << e;
  EXPECT_NE(e.find("hook action not found: foo"), std::string::npos) << e;
}

}  // namespace
}  // namespace brood::cli
