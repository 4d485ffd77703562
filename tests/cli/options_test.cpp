// Option parsing of `brood`: command line, ini files (sections, comments, includes), order of
// appearance, and the errors that name what was wrong. In-process, no network.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "brood/cli/cli.hpp"
#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

using options_test = options_fixture;

TEST_F(options_test, DefaultsMatchUwsgi) {
  options_result r = parse_options({});
  ASSERT_TRUE(r.options) << r.error;
  const auto& c = r.options->config;
  EXPECT_TRUE(c.sockets.empty());
  EXPECT_EQ(c.processes, 1u);
  EXPECT_FALSE(c.master);
  EXPECT_EQ(c.limits.buffer_size, 4096u);
  EXPECT_EQ(c.limits.max_vars, 64u);
  EXPECT_EQ(c.listen_queue, 100);
  EXPECT_EQ(c.socket_timeout, seconds(4));
  EXPECT_EQ(c.keepalive_timeout, seconds(60));
  EXPECT_EQ(c.reload_mercy, seconds(60));
  EXPECT_FALSE(r.options->help);
  EXPECT_FALSE(r.options->version);
}

TEST_F(options_test, LongOptionsFromArgv) {
  auto c = parse({"--socket", "127.0.0.1:3031", "--processes", "3", "--master", "--buffer-size",
                  "32768", "--max-vars", "100", "--listen", "50", "--socket-timeout", "7",
                  "--keepalive-timeout", "9", "--reload-mercy", "11"});
  EXPECT_EQ(c.sockets, std::vector<std::string>{"127.0.0.1:3031"});
  EXPECT_EQ(c.processes, 3u);
  EXPECT_TRUE(c.master);
  EXPECT_EQ(c.limits.buffer_size, 32768u);
  EXPECT_EQ(c.limits.max_vars, 100u);
  EXPECT_EQ(c.listen_queue, 50);
  EXPECT_EQ(c.socket_timeout, seconds(7));
  EXPECT_EQ(c.keepalive_timeout, seconds(9));
  EXPECT_EQ(c.reload_mercy, seconds(11));
}

TEST_F(options_test, ThreadsAndTheirSwitches) {
  EXPECT_EQ(parse({}).threads, 1u);
  EXPECT_FALSE(parse({}).enable_threads);
  auto c = parse({"--threads", "4", "--offload-threads", "2"});
  EXPECT_EQ(c.threads, 4u);
  EXPECT_TRUE(c.enable_threads);  // threads > 1 runs Python threads
  EXPECT_TRUE(parse({"--enable-threads"}).enable_threads);
  options_result r = parse_options({"--threads", "0"});
  EXPECT_FALSE(r.options);
  EXPECT_NE(r.error.find("threads"), std::string::npos) << r.error;
  EXPECT_FALSE(parse_options({"--threads", "257"}).options);
}

TEST_F(options_test, ShortFormsAndEqualsSyntax) {
  auto c = parse({"-s", ":3031", "-p", "2", "-M", "-b", "8192", "-v", "10", "-l", "7", "-z", "3",
                  "--worker-reload-mercy=5"});
  EXPECT_EQ(c.sockets, std::vector<std::string>{":3031"});
  EXPECT_EQ(c.processes, 2u);
  EXPECT_TRUE(c.master);
  EXPECT_EQ(c.limits.buffer_size, 8192u);
  EXPECT_EQ(c.limits.max_vars, 10u);
  EXPECT_EQ(c.listen_queue, 7);
  EXPECT_EQ(c.socket_timeout, seconds(3));
  EXPECT_EQ(c.reload_mercy, seconds(5));
}

TEST_F(options_test, EveryOptionFromIni) {
  auto ini = write("all.ini",
                   "[uwsgi]\nsocket = /tmp/a.sock\nprocesses = 4\nmaster = true\n"
                   "buffer-size = 65535\nmax-vars = 8\nlisten = 20\nsocket-timeout = 2\n"
                   "keepalive-timeout = 30\nreload-mercy = 0\n");
  auto c = parse({"--ini", ini});
  EXPECT_EQ(c.sockets, std::vector<std::string>{"/tmp/a.sock"});
  EXPECT_EQ(c.processes, 4u);
  EXPECT_TRUE(c.master);
  EXPECT_EQ(c.limits.buffer_size, 65535u);
  EXPECT_EQ(c.limits.max_vars, 8u);
  EXPECT_EQ(c.listen_queue, 20);
  EXPECT_EQ(c.socket_timeout, seconds(2));
  EXPECT_EQ(c.keepalive_timeout, seconds(30));
  EXPECT_EQ(c.reload_mercy, seconds(0));
}

TEST_F(options_test, LoggingOptions) {
  auto ini = write("quiet.ini",
                   "[uwsgi]\nprocesses = 2\ndisable-logging = true\nlog-5xx\nlog-slow = 250\n"
                   "logformat = %(method) %(uri)\nlogto = /tmp/x.log\nlog-maxsize = 1000\n");
  auto c = parse({"--ini", ini});
  EXPECT_EQ(c.processes, 2u);
  EXPECT_TRUE(c.log.disable_logging);
  EXPECT_TRUE(c.log.log_5xx);
  EXPECT_FALSE(c.log.log_4xx);
  EXPECT_EQ(c.log.log_slow, std::chrono::milliseconds(250));
  EXPECT_EQ(c.log.log_format, "%(method) %(uri)");
  EXPECT_EQ(c.log.logto, "/tmp/x.log");
  EXPECT_EQ(c.log.log_maxsize, 1000u);
  EXPECT_FALSE(c.log.daemonize);
  auto d = parse({"--daemonize", "/tmp/d.log"});
  EXPECT_TRUE(d.log.daemonize);
  EXPECT_EQ(d.log.logto, "/tmp/d.log");
  EXPECT_FALSE(parse({}).log.disable_logging);
}

TEST_F(options_test, SocketRepeatsInOrderOfAppearance) {
  auto ini = write("s.ini", "[uwsgi]\nsocket = 127.0.0.1:2\nuwsgi-socket = 127.0.0.1:3\n");
  auto c = parse({"-s", "127.0.0.1:1", "--ini", ini, "--uwsgi-socket", "127.0.0.1:4"});
  EXPECT_EQ(c.sockets,
            (std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4"}));
}

TEST_F(options_test, LaterScalarValueWins) {
  auto ini = write("p.ini", "[uwsgi]\nprocesses = 4\nprocesses = 5\n");
  EXPECT_EQ(parse({"--processes", "2", "--ini", ini}).processes, 5u);
  EXPECT_EQ(parse({"--ini", ini, "--workers", "3"}).processes, 3u);
  EXPECT_EQ(parse({"-p", "2", "-p", "6"}).processes, 6u);
}

TEST_F(options_test, FlagValues) {
  auto flag = [&](const std::string& value) {
    return parse({"--ini", write("f.ini", "[uwsgi]\nmaster = " + value + "\n")}).master;
  };
  EXPECT_TRUE(flag("true"));
  EXPECT_TRUE(flag("1"));
  EXPECT_TRUE(flag("yes"));
  EXPECT_FALSE(flag("false"));
  EXPECT_FALSE(flag("0"));
  EXPECT_TRUE(parse({"--master=true"}).master);
  EXPECT_FALSE(parse({"--master=false"}).master);
  EXPECT_FALSE(parse({"--master", "--master=0"}).master);
  EXPECT_NE(error_of({"--master=maybe"}).find("'--master'"), std::string::npos);
}

TEST_F(options_test, ProcessesAboveOneImplyMaster) {
  EXPECT_TRUE(parse({"--processes", "2"}).master);
  EXPECT_TRUE(parse({"--processes", "2", "--master=false"}).master);
  EXPECT_FALSE(parse({"--processes", "1"}).master);
}

TEST_F(options_test, SectionsCommentsAndSpacing) {
  auto ini = write("c.ini",
                   "; a comment\n# another\n[other]\nprocesses = 9\n\n[uwsgi]\r\n"
                   "  processes   =   3  \r\n; processes = 8\n# listen = 1\n[brood]\nlisten = 2\n");
  auto c = parse({"--ini", ini});
  EXPECT_EQ(c.processes, 3u);
  EXPECT_EQ(c.listen_queue, 100);
  EXPECT_EQ(parse({"--ini", ini + ":other"}).processes, 9u);
  EXPECT_EQ(parse({"--ini", ini + ":brood"}).listen_queue, 2);
}

TEST_F(options_test, BroodSectionIsTheFallback) {
  auto ini = write("b.ini", "[brood]\nprocesses = 7\n");
  EXPECT_EQ(parse({"--ini", ini}).processes, 7u);
}

TEST_F(options_test, FileWithoutDefaultSectionIsAnError) {
  auto ini = write("none.ini", "[zerg]\nprocesses = 7\n");
  std::string e = error_of({"--ini", ini});
  EXPECT_NE(e.find(ini), std::string::npos) << e;
  EXPECT_NE(e.find("[uwsgi]"), std::string::npos) << e;
  e = error_of({"--ini", ini + ":nope"});
  EXPECT_NE(e.find("[nope]"), std::string::npos) << e;
}

TEST_F(options_test, IniIncludesAnotherIni) {
  auto inner = write("inner.ini", "[uwsgi]\nsocket = 127.0.0.1:2\nlisten = 5\n");
  auto outer = write("outer.ini",
                     "[uwsgi]\nsocket = 127.0.0.1:1\nini = " + inner + "\nsocket = 127.0.0.1:3\n");
  auto c = parse({"--ini", outer});
  EXPECT_EQ(c.sockets, (std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}));
  EXPECT_EQ(c.listen_queue, 5);
}

TEST_F(options_test, IniIncludeLoopIsAnError) {
  auto a = dir_ / "a.ini";
  auto b = write("b.ini", "[uwsgi]\nini = " + a + "\n");
  write("a.ini", "[uwsgi]\nini = " + b + "\n");
  std::string e = error_of({"--ini", a});
  EXPECT_NE(e.find("loop"), std::string::npos) << e;
  // A file including itself under another name (a symlink to it) is a loop too.
  std::string self = dir_ / "self.ini";
  std::string alias = dir_ / "alias.ini";
  std::filesystem::create_symlink(self, alias);
  write("self.ini", "[uwsgi]\nsocket = :1\nini = " + alias + "\n");
  e = error_of({"--ini", self});
  EXPECT_NE(e.find("loop"), std::string::npos) << e;
  // The same file twice, not nested, is fine.
  auto plain = write("plain.ini", "[uwsgi]\nsocket = :1\n");
  EXPECT_EQ(parse({"--ini", plain, "--ini", plain}).sockets.size(), 2u);
}

TEST_F(options_test, MissingIniFileIsNamed) {
  std::string missing = dir_ / "missing.ini";
  std::string e = error_of({"--ini", missing});
  EXPECT_NE(e.find(missing), std::string::npos) << e;
  auto outer = write("o.ini", "[uwsgi]\nini = " + missing + "\n");
  e = error_of({"--ini", outer});
  EXPECT_NE(e.find(missing), std::string::npos) << e;
  EXPECT_NE(e.find("o.ini line 2"), std::string::npos) << e;
}

// On the command line an unknown option is an error (as in uWSGI); in an ini file a key that is
// no option is a placeholder, named in a warning, and an error with strict.
TEST_F(options_test, UnknownOptionIsNamed) {
  EXPECT_NE(error_of({"--frobnicate"}).find("'--frobnicate'"), std::string::npos);
  EXPECT_NE(error_of({"--proc", "2"}).find("'--proc'"), std::string::npos);  // no guessing
  auto ini = write("u.ini", "[uwsgi]\nmaster = 1\nfrobnicate = 3\n");
  options_result r = parse_options({"--ini", ini});
  ASSERT_TRUE(r.options) << r.error;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("'frobnicate'"), std::string::npos) << r.warnings[0];
  EXPECT_NE(r.warnings[0].find(ini + " line 3"), std::string::npos) << r.warnings[0];
  std::string e = error_of({"--ini", ini, "--strict"});
  EXPECT_NE(e.find("'frobnicate'"), std::string::npos) << e;
  EXPECT_NE(e.find(ini + " line 3"), std::string::npos) << e;
}

TEST_F(options_test, BadValuesAreNamed) {
  std::string e = error_of({"--buffer-size", "70000"});
  EXPECT_NE(e.find("'70000'"), std::string::npos) << e;
  EXPECT_NE(e.find("buffer-size"), std::string::npos) << e;
  e = error_of({"-p", "abc"});
  EXPECT_NE(e.find("'abc'"), std::string::npos) << e;
  EXPECT_NE(e.find("processes"), std::string::npos) << e;
  EXPECT_FALSE(error_of({"-p", "-1"}).empty());
  EXPECT_FALSE(error_of({"-p", "0"}).empty());
  EXPECT_FALSE(error_of({"-b", "0"}).empty());
  EXPECT_FALSE(error_of({"-s", "127.0.0.1:70000"}).empty());
  auto ini = write("v.ini", "[uwsgi]\n\nbuffer-size = 65536\n");
  e = error_of({"--ini", ini});
  EXPECT_NE(e.find("'65536'"), std::string::npos) << e;
  EXPECT_NE(e.find(ini + " line 3"), std::string::npos) << e;
}

TEST_F(options_test, MalformedIniLineIsNamed) {
  auto ini = write("m.ini", "[uwsgi]\nmaster\n = 1\n");
  std::string e = error_of({"--ini", ini});
  EXPECT_NE(e.find(ini + " line 3"), std::string::npos) << e;
}

TEST_F(options_test, PositionalArgumentIsAnError) {
  EXPECT_NE(error_of({"stray"}).find("'stray'"), std::string::npos);
}

TEST_F(options_test, HelpListsEveryNodeOption) {
  std::string help = help_text();
  for (const char* name : {"--socket", "--processes", "--master", "--buffer-size", "--max-vars",
                           "--listen", "--socket-timeout", "--keepalive-timeout", "--reload-mercy",
                           "--ini", "--version", "brood call", "brood ping"})
    EXPECT_NE(help.find(name), std::string::npos) << name;
  options_result r = parse_options({"--help"});
  ASSERT_TRUE(r.options);
  EXPECT_TRUE(r.options->help);
}

// The public entry point: roles that do not start a node.
TEST_F(options_test, RunPrintsVersionAndHelp) {
  std::vector<std::string> words = {"brood", "--version"};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run(static_cast<int>(argv.size()), argv.data()), 0);
  EXPECT_EQ(::testing::internal::GetCapturedStdout().rfind("brood ", 0), 0u);

  words[1] = "--help";
  argv = {words[0].data(), words[1].data()};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run(2, argv.data()), 0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("--buffer-size"), std::string::npos);
}

TEST_F(options_test, RunRefusesBadUsageWithStatus2) {
  for (std::vector<std::string> words : {std::vector<std::string>{"brood"},
                                         {"brood", "--bogus"},
                                         {"brood", "-b", "70000"},
                                         {"brood", "call"},
                                         {"brood", "ping", "127.0.0.1:1", "--timeout", "x"}}) {
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(run(static_cast<int>(argv.size()), argv.data()), 2) << words.back();
    EXPECT_EQ(::testing::internal::GetCapturedStderr().rfind("brood: ", 0), 0u) << words.back();
  }
}

}  // namespace
}  // namespace brood::cli
