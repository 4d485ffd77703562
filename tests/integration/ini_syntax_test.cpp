// The real `brood` binary on real-world style ini files that use uWSGI's config syntax (bare
// flags, placeholders, magic variables, if-env, for, includes, unknown keys, show-config): each
// one starts, binds, and answers a ping; typos are logged, and refused with strict.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "node_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

class ini_syntax_test : public node_fixture {
 protected:
  std::string file(const std::string& name, const std::string& text) {
    std::string path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }

  // Starts `brood --ini ini extra...`, waits until it is ready and answers a ping.
  node_process& start_ini(const std::string& ini, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--ini", ini};
    args.insert(args.end(), extra.begin(), extra.end());
    nodes_.push_back(std::make_unique<node_process>(BROOD_BINARY, args));
    node_process& n = *nodes_.back();
    address_ = n.wait_bound_address();
    EXPECT_FALSE(address_.empty()) << n.all_output();
    EXPECT_TRUE(n.wait_ready()) << n.all_output();
    auto ping = run_brood({"ping", address_});
    EXPECT_EQ(ping.status, 0) << ping.output << n.all_output();
    EXPECT_NE(ping.output.find("PONG"), std::string::npos) << ping.output;
    return n;
  }

  temp_dir dir_{"brood-ini-syntax-"};
  std::string address_;
};

// A Django-style file: placeholders defined before use, a bare `master`, uWSGI options of other
// areas, and a typo that is logged but does not stop the node.
TEST_F(ini_syntax_test, DjangoStyleWithPlaceholdersAndATypo) {
  auto ini = file("mysite.ini",
                  "# mysite_uwsgi.ini\n[uwsgi]\nproject = mysite\nbase = %d\n\n"
                  "master\nprocesses = 2\nsocket = 127.0.0.1:0\nharakiri = 30\n"
                  "pidfile = %(base)%(project).pid\nproceses = 4\n");
  node_process& n = start_ini(ini);
  EXPECT_TRUE(n.wait_for("'proceses' in " + ini + " line 11 is no brood or uWSGI option"))
      << n.all_output();
  EXPECT_EQ(n.worker_pids().size(), 2u) << n.all_output();
}

// A Docker-style file: the socket comes from the environment through if-env / %(_).
TEST_F(ini_syntax_test, DockerStyleIfEnv) {
  ::setenv("BROOD_INI_TEST_PORT", "0", 1);
  auto ini = file("docker.ini",
                  "[uwsgi]\nmaster = true\n"
                  "if-env = BROOD_INI_TEST_PORT\nsocket = 127.0.0.1:%(_)\nendif =\n"
                  "if-not-env = BROOD_INI_TEST_PORT\nsocket = 127.0.0.1:1\nendif =\n"
                  "processes = %k\nlisten = $(BROOD_INI_TEST_LISTEN)\n");
  ::setenv("BROOD_INI_TEST_LISTEN", "77", 1);
  start_ini(ini);
  ::unsetenv("BROOD_INI_TEST_PORT");
  ::unsetenv("BROOD_INI_TEST_LISTEN");
}

// A vassal-style file that includes a common file by %d and names its stats socket by %n.
TEST_F(ini_syntax_test, VassalStyleIncludeAndMagicVariables) {
  file("common.ini", "[uwsgi]\nmaster\nsocket-timeout = 5\n[zerg]\nlisten = 64\n");
  auto ini = file("shop.ini",
                  "[uwsgi]\nini = %dcommon.ini\nini = %dcommon.ini:zerg\n"
                  "socket = 127.0.0.1:0\nstats = %d%n.stats.sock\n");
  node_process& n = start_ini(ini);
  struct stat st {};
  EXPECT_EQ(::stat((dir_ / "shop.stats.sock").c_str(), &st), 0) << n.all_output();
}

// Sockets from a for block, a placeholder given on the command line, and show-config printed
// before the node starts.
TEST_F(ini_syntax_test, ForBlockAndShowConfig) {
  auto ini = file("multi.ini",
                  "[uwsgi]\nfor = %(host):0 %(host):0\nsocket = %(_)\nendfor\n"
                  "master\nunused-placeholder = 1\n");
  node_process& n = start_ini(ini, {"--set-ph", "host=127.0.0.1", "--show-config"});
  EXPECT_FALSE(n.wait_bound_address(1).empty()) << n.all_output();
  EXPECT_TRUE(n.wait_for(";uWSGI instance configuration")) << n.all_output();
  EXPECT_TRUE(n.wait_for("socket = 127.0.0.1:0", 2)) << n.all_output();
  EXPECT_TRUE(n.wait_for(";end of configuration")) << n.all_output();
}

TEST_F(ini_syntax_test, StrictRefusesTheTypoNamingFileAndLine) {
  auto ini = file("strict.ini", "[uwsgi]\nstrict\nsocket = 127.0.0.1:0\nmaster\nproceses = 4\n");
  auto r = run_brood({"--ini", ini});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("unknown option 'proceses' in " + ini + " line 5 (strict)"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace brood::testing
