// uWSGI's config syntax in `brood`'s options (docs/config.md, "Config syntax"): bare flags,
// placeholders, magic variables, $(ENV), @(file), logic blocks, unknown keys, strict and
// show-config. Each expectation was checked against uWSGI 2.0.21's `--show-config`. In-process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

namespace fs = std::filesystem;

class config_syntax_test : public options_fixture {
 protected:
  // Parses with `env` as the whole environment and show-config on; a test failure when invalid.
  options_result parse_env(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.push_back("--show-config");
    options_result r = parse_options(args, env);
    EXPECT_TRUE(r.options.has_value()) << r.error;
    return r;
  }

  // Every value of `key` in the show-config text of `r`, in order.
  static std::vector<std::string> values(const options_result& r, const std::string& key) {
    std::vector<std::string> out;
    if (!r.options) return out;
    const std::string& text = r.options->show_config;
    const std::string prefix = key + " = ";
    std::size_t at = 0;
    while (at < text.size()) {
      std::size_t eol = text.find('\n', at);
      if (eol == std::string::npos) eol = text.size();
      std::string line = text.substr(at, eol - at);
      if (line.rfind(prefix, 0) == 0) out.push_back(line.substr(prefix.size()));
      at = eol + 1;
    }
    return out;
  }

  static std::string value(const options_result& r, const std::string& key) {
    auto v = values(r, key);
    EXPECT_EQ(v.size(), 1u) << key << " in:\n" << (r.options ? r.options->show_config : r.error);
    return v.empty() ? std::string("<none>") : v.front();
  }

  std::string error_env(const std::vector<std::string>& args, std::vector<std::string> env = {}) {
    options_result r = parse_options(args, env);
    EXPECT_FALSE(r.options.has_value());
    return r.error;
  }
};

TEST_F(config_syntax_test, BareKeyIsAFlagAndAnEmptyValueToo) {
  auto ini = write("b.ini", "[uwsgi]\nmaster\nlazy-apps =\nsocket = :3031\n");
  options_result r = parse_env({"--ini", ini});
  EXPECT_TRUE(r.options->config.master);
  EXPECT_TRUE(r.options->app.lazy_apps);
  EXPECT_EQ(value(r, "master"), "");
}

TEST_F(config_syntax_test, EveryKeyIsAPlaceholderUsableBeforeAndAfter) {
  auto ini = write("p.ini",
                   "[uwsgi]\nbase = /srv/app\nsocket = %(sock)\nsock = %(base)/app.sock\n"
                   "listen = %(n)\nn = 5\nn = 6\nmissing = %(nope)/x\n");
  options_result r = parse_env({"--ini", ini});
  EXPECT_EQ(r.options->config.sockets, std::vector<std::string>{"/srv/app/app.sock"});
  EXPECT_EQ(r.options->config.listen_queue, 5);  // the first definition, as uWSGI
  EXPECT_EQ(value(r, "missing"), "%(nope)/x");   // undefined: kept as written
}

TEST_F(config_syntax_test, PlaceholdersAcrossCommandLineEnvironmentAndFiles) {
  auto ini = write("c.ini", "[uwsgi]\nprocesses = %(workers_n)\n");
  options_result r = parse_env({"--set-ph", "workers_n=3", "--ini", ini, "--listen", "%(lq)"},
                               {"UWSGI_LQ=42", "UWSGI_SOCKET=%(d)/s.sock", "UWSGI_D=/run"});
  EXPECT_EQ(r.options->config.processes, 3u);
  EXPECT_EQ(r.options->config.listen_queue, 42);
  EXPECT_EQ(r.options->config.sockets, std::vector<std::string>{"/run/s.sock"});
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();  // env and set-ph keys: silent
}

TEST_F(config_syntax_test, SetPlaceholderIsNoOption) {
  auto ini = write("s.ini",
                   "[uwsgi]\nset-placeholder = port=3031\nset-ph = h=127.0.0.1\n"
                   "socket = %(h):%(port)\n");
  options_result r = parse_env({"--ini", ini, "--strict"});
  EXPECT_EQ(r.options->config.sockets, std::vector<std::string>{"127.0.0.1:3031"});
  EXPECT_EQ(value(r, "port"), "3031");  // listed after its set-placeholder line, as uWSGI
}

TEST_F(config_syntax_test, MagicVariablesOfTheFile) {
  fs::create_directories(fs::path(dir_.path()) / "etc" / "app");
  auto ini = write("etc/app/site.prod.ini",
                   "[uwsgi]\nd = %d\nn = %n\np = %p\ns = %s\ne = %e\nc = %c\nzero = %0\n"
                   "pct = 100%%\nk = %k\nh = %h\nu = %u\nV = %V\nunknown = a%qb\n");
  options_result r = parse_env({"--ini", ini});
  const std::string dir = dir_.path() + "/etc/app";
  EXPECT_EQ(value(r, "d"), dir + "/");
  EXPECT_EQ(value(r, "n"), "site.prod");
  EXPECT_EQ(value(r, "p"), ini);
  EXPECT_EQ(value(r, "s"), "site.prod.ini");
  EXPECT_EQ(value(r, "e"), "ini");
  EXPECT_EQ(value(r, "c"), "app");
  EXPECT_EQ(value(r, "zero"), "tmp");
  EXPECT_EQ(value(r, "pct"), "100%");
  EXPECT_EQ(value(r, "k"), std::to_string(std::thread::hardware_concurrency()));
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_EQ(value(r, "h"), host);
  EXPECT_EQ(value(r, "u"), std::to_string(::getuid()));
  EXPECT_FALSE(value(r, "V").empty());
  EXPECT_EQ(value(r, "unknown"), "ab");  // an unknown letter expands to nothing (uWSGI)
}

TEST_F(config_syntax_test, IniIncludeRelativeToTheFileWithPercentD) {
  fs::create_directories(fs::path(dir_.path()) / "conf");
  write("conf/common.ini", "[uwsgi]\nlisten = 9\n[zerg]\nlisten = 10\n");
  auto ini = write("conf/main.ini", "[uwsgi]\nini = %dcommon.ini\nini = %dcommon.ini:zerg\n");
  EXPECT_EQ(parse_env({"--ini", ini}).options->config.listen_queue, 10);
}

TEST_F(config_syntax_test, EnvironmentAndFileReferences) {
  auto secret = write("secret.txt", "s3cret\n");
  auto ini = write("e.ini",
                   "[uwsgi]\nhome = $(HOME)\nnone = $(NO_SUCH_VAR)\n"
                   "pw = @(" +
                       secret + ")\nboth = $(A)-@(%dsecret.txt)\n");
  options_result r = parse_env({"--ini", ini}, {"HOME=/home/x", "A=a"});
  EXPECT_EQ(value(r, "home"), "/home/x");
  EXPECT_EQ(value(r, "none"), "$(NO_SUCH_VAR)");  // unset: kept as written (uWSGI)
  EXPECT_EQ(value(r, "pw"), "s3cret");            // one trailing newline removed
  EXPECT_EQ(value(r, "both"), "a-s3cret");
  EXPECT_TRUE(values(r, "socket").empty());
}

TEST_F(config_syntax_test, MissingReferencedFileIsAnErrorNamingFileAndLine) {
  auto ini = write("m.ini", "[uwsgi]\nmaster\npw = @(/nonexistent/pw)\n");
  std::string e = error_env({"--ini", ini});
  EXPECT_NE(e.find("/nonexistent/pw"), std::string::npos) << e;
  EXPECT_NE(e.find(ini + " line 3"), std::string::npos) << e;
}

TEST_F(config_syntax_test, InlineCommentsAreNotComments) {
  auto ini = write("i.ini", "[uwsgi]\nx = value ; comment\n# whole line\n; whole line\n");
  EXPECT_EQ(value(parse_env({"--ini", ini}), "x"), "value ; comment");
}

TEST_F(config_syntax_test, IfBlocksAndWhatTheyBind) {
  fs::create_directories(fs::path(dir_.path()) / "d");
  write("f", "");
  auto ini = write("if.ini",
                   "[uwsgi]\nif-env = HOME\nhome = %(_)\nendif =\n"
                   "if-env = HOME=/nope\nno1 = 1\nendif =\n"
                   "if-not-env = NOPE\nne = %(_)\nendif\n"
                   "if-exists = %df\nex = %(_)\nendif =\n"
                   "if-not-exists = %dzz\nnex = %(_)\nendif =\n"
                   "if-file = %dd\nno2 = 1\nendif =\n"
                   "if-dir = %dd\ndir = %(_)\nendif =\n"
                   "if-not-dir = %df\nndir = %(_)\nendif =\n"
                   "if-opt = home\nopt = %(_)\nendif =\n"
                   "if-opt = home=/other\nno3 = 1\nendif =\n"
                   "if-not-opt = zz\nnopt = 1\nendif =\n"
                   "after = %(_)\n");
  options_result r = parse_env({"--ini", ini}, {"HOME=/h"});
  const std::string d = dir_.path();
  EXPECT_EQ(value(r, "home"), "/h");
  EXPECT_EQ(value(r, "ne"), "%(_)");  // if-not-env binds nothing (uWSGI)
  EXPECT_EQ(value(r, "ex"), d + "/f");
  EXPECT_EQ(value(r, "nex"), d + "/zz");
  EXPECT_EQ(value(r, "dir"), d + "/d");
  EXPECT_EQ(value(r, "ndir"), d + "/f");
  EXPECT_EQ(value(r, "opt"), "/h");
  EXPECT_EQ(value(r, "nopt"), "1");
  EXPECT_EQ(value(r, "after"), "%(_)");
  for (const char* k : {"no1", "no2", "no3"}) EXPECT_TRUE(values(r, k).empty()) << k;
  EXPECT_EQ(values(r, "endif").size(), 11u);  // listed, as uWSGI lists them
}

TEST_F(config_syntax_test, NestedIfBlocks) {
  auto ini = write("n.ini",
                   "[uwsgi]\nif-env = A\nouter = %(_)\nif-env = B\ninner = %(_)\nendif =\n"
                   "back = %(_)\nif-env = NOPE\nif-env = A\nskipped = 1\nendif =\nskipped2 = 1\n"
                   "endif =\nlast = %(_)\nendif =\nout = %(_)\n");
  options_result r = parse_env({"--ini", ini}, {"A=a", "B=b"});
  EXPECT_EQ(value(r, "outer"), "a");
  EXPECT_EQ(value(r, "inner"), "b");
  EXPECT_EQ(value(r, "back"), "a");
  EXPECT_EQ(value(r, "last"), "a");
  EXPECT_EQ(value(r, "out"), "%(_)");
  EXPECT_TRUE(values(r, "skipped").empty());
  EXPECT_TRUE(values(r, "skipped2").empty());
}

TEST_F(config_syntax_test, IfBlockDecidesAnOption) {
  auto ini = write("o.ini", "[uwsgi]\nprocesses = 2\nif-env = PROD\nprocesses = 8\nendif\n");
  EXPECT_EQ(parse_env({"--ini", ini}, {"PROD=1"}).options->config.processes, 8u);
  EXPECT_EQ(parse_env({"--ini", ini}, {}).options->config.processes, 2u);
}

TEST_F(config_syntax_test, ForBlocks) {
  write("lines.txt", "a\n\nb c\n");
  write("g1.conf", "");
  write("g2.conf", "");
  auto ini = write("for.ini",
                   "[uwsgi]\nfor = x y\nitem = %(_)\nendfor =\n"
                   "for-readline = %dlines.txt\nline = [%(_)]\nendfor =\n"
                   "for-glob = %d*.conf\nglob = %(_)\nendfor =\n"
                   "for-times = 3\nn = %(_)\nfor = p q\npair = %(_)\nendfor\nendfor =\n"
                   "for = s1 s2\nsocket = %(d)/%(_).sock\nendfor\nd = /run\n");
  options_result r = parse_env({"--ini", ini});
  const std::string d = dir_.path();
  EXPECT_EQ(values(r, "item"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(values(r, "line"), (std::vector<std::string>{"[a]", "[]", "[b c]"}));
  EXPECT_EQ(values(r, "glob"), (std::vector<std::string>{d + "/g1.conf", d + "/g2.conf"}));
  EXPECT_EQ(values(r, "n"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(values(r, "pair").size(), 6u);
  EXPECT_EQ(r.options->config.sockets, (std::vector<std::string>{"/run/s1.sock", "/run/s2.sock"}));
}

TEST_F(config_syntax_test, ForReadlineOfAMissingFileSkipsTheBlockWithAWarning) {
  auto ini = write("r.ini",
                   "[uwsgi]\nfor-readline = /nonexistent/list\nx = %(_)\nendfor\n"
                   "y = 1\n");
  options_result r = parse_env({"--ini", ini});
  EXPECT_TRUE(values(r, "x").empty());
  EXPECT_EQ(value(r, "y"), "1");
  bool named = false;
  for (const auto& w : r.warnings) named |= w.find("/nonexistent/list") != std::string::npos;
  EXPECT_TRUE(named);
}

TEST_F(config_syntax_test, ForWithoutEndforIsAnError) {
  auto ini = write("u.ini", "[uwsgi]\nfor = a b\nx = %(_)\n");
  std::string e = error_env({"--ini", ini});
  EXPECT_NE(e.find("endfor"), std::string::npos) << e;
  EXPECT_NE(e.find(ini + " line 2"), std::string::npos) << e;
}

TEST_F(config_syntax_test, LogicOnTheCommandLine) {
  options_result r =
      parse_env({"--for", "a b", "--socket", "/tmp/%(_).sock", "--endfor", "--if-env", "P",
                 "--processes", "4", "--endif", "--if-not-env", "P", "--processes", "9", "--endif"},
                {"P=1"});
  EXPECT_EQ(r.options->config.sockets, (std::vector<std::string>{"/tmp/a.sock", "/tmp/b.sock"}));
  EXPECT_EQ(r.options->config.processes, 4u);
  EXPECT_EQ(values(r, "endfor"), std::vector<std::string>{"true"});  // a bare flag reads "true"
}

TEST_F(config_syntax_test, UnknownKeysAreLoggedOnceAndFatalWithStrict) {
  auto ini = write("t.ini", "[uwsgi]\nmaster\nproceses = 4\nproceses = 5\nbase = /x\n");
  options_result r = parse_env({"--ini", ini});
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_NE(r.warnings[0].find("'proceses' in " + ini + " line 3"), std::string::npos)
      << r.warnings[0];
  EXPECT_NE(r.warnings[1].find("'base'"), std::string::npos) << r.warnings[1];
  EXPECT_EQ(r.options->config.processes, 1u);

  std::string e = error_env({"--ini", ini, "--strict"});
  EXPECT_EQ(e, "unknown option 'proceses' in " + ini + " line 3 (strict)");
  auto strict_ini = write("s.ini", "[uwsgi]\nstrict\nbase = /x\n");
  EXPECT_NE(error_env({"--ini", strict_ini}).find("'base'"), std::string::npos);
}

TEST_F(config_syntax_test, UwsgiOptionsBroodLacksAreNamedInOneWarning) {
  auto ini = write("w.ini",
                   "[uwsgi]\ncache2 = name=x,items=10\nroute = ^/x break:403\n"
                   "cache2 = name=y,items=10\n");
  options_result r = parse_env({"--ini", ini, "--cache2=name=z,items=1"});
  ASSERT_EQ(r.warnings.size(), 1u);
  const std::string& w = r.warnings[0];
  EXPECT_NE(w.find("cache2 (in " + ini + " line 2)"), std::string::npos) << w;
  EXPECT_NE(w.find("route (in " + ini + " line 3)"), std::string::npos) << w;
  EXPECT_EQ(values(r, "cache2").size(), 3u);  // kept, and shown

  std::string e = error_env({"--ini", ini, "--strict"});
  EXPECT_NE(e.find("'cache2'"), std::string::npos) << e;
  EXPECT_NE(e.find(ini + " line 2"), std::string::npos) << e;
  // On the command line too, `--name VALUE` or `--name=VALUE`.
  r = parse_env({"--route", "^/x break:403", "--processes", "2"});
  EXPECT_EQ(r.options->config.processes, 2u);
  EXPECT_EQ(value(r, "route"), "^/x break:403");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("route (on the command line)"), std::string::npos);
}

TEST_F(config_syntax_test, ShowConfigHasUwsgisFormat) {
  auto ini = write("sc.ini", "[uwsgi]\nmaster\nsocket = :3031\n");
  options_result r = parse_env({"--ini", ini}, {"UWSGI_LISTEN=7"});
  EXPECT_EQ(r.options->show_config,
            "\n;uWSGI instance configuration\n[uwsgi]\nlisten = 7\nini = " + ini +
                "\nmaster = \nsocket = :3031\nshow-config = true\n;end of configuration\n\n");
  EXPECT_TRUE(parse_options({"--ini", ini}, {}).options->show_config.empty());
}

}  // namespace
}  // namespace brood::cli
