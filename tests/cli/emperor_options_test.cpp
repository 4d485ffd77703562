// The emperor options of `brood` (docs/uwsgi-compat.md §4.5), `set`, `include`/`inherit`, and
// options from UWSGI_* environment variables: defaults, every field, aliases, and errors that name
// what is wrong. In-process, no network.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class emperor_options_test : public options_fixture {
 protected:
  static emperor::emperor_config emperor_of(const std::vector<std::string>& args,
                                            const std::vector<std::string>& env = {}) {
    options_result r = parse_options(args, env);
    EXPECT_TRUE(r.options.has_value()) << r.error;
    return r.options ? r.options->emperor : emperor::emperor_config{};
  }
};

TEST_F(emperor_options_test, DefaultsMatchUwsgi) {
  const emperor::emperor_config e = emperor_of({});
  EXPECT_TRUE(e.sources.empty());
  EXPECT_EQ(e.freq, seconds(3));
  EXPECT_EQ(e.throttle, milliseconds(1000));
  EXPECT_EQ(e.max_throttle, milliseconds(180000));
  EXPECT_EQ(e.required_heartbeat, seconds(30));
  EXPECT_EQ(e.curse_tolerance, seconds(30));
  EXPECT_FALSE(e.graceful_shutdown);
  EXPECT_FALSE(e.no_blacklist);
  EXPECT_TRUE(e.wrapper.empty());
  EXPECT_TRUE(e.stats.empty());
  EXPECT_EQ(e.listen_queue, 100);
  EXPECT_EQ(e.broodlord, 0u);
}

TEST_F(emperor_options_test, CommandLineFillsEveryField) {
  const emperor::emperor_config e = emperor_of({"--emperor",
                                                "/a",
                                                "--emperor",
                                                "/b/*.ini",
                                                "--emperor-freq",
                                                "5",
                                                "--emperor-throttle",
                                                "50",
                                                "--emperor-max-throttle",
                                                "400",
                                                "--emperor-required-heartbeat",
                                                "7",
                                                "--emperor-curse-tolerance",
                                                "4",
                                                "--emperor-graceful-shutdown",
                                                "--emperor-no-blacklist",
                                                "--emperor-wrapper",
                                                "/usr/bin/uwsgi",
                                                "--vassals-inherit",
                                                "/i.ini",
                                                "--vassals-include",
                                                "/j.ini",
                                                "--vassal-set",
                                                "processes=2",
                                                "--vassals-set",
                                                "master=1",
                                                "--emperor-on-demand-ext",
                                                ".sock",
                                                "--emperor-on-demand-dir",
                                                "/run/od",
                                                "--emperor-stats-server",
                                                "127.0.0.1:9191",
                                                "--listen",
                                                "64",
                                                "--reload-mercy",
                                                "9",
                                                "--emperor-broodlord",
                                                "5"});
  EXPECT_EQ(e.sources, (std::vector<std::string>{"/a", "/b/*.ini"}));
  EXPECT_EQ(e.freq, seconds(5));
  EXPECT_EQ(e.throttle, milliseconds(50));
  EXPECT_EQ(e.max_throttle, milliseconds(400));
  EXPECT_EQ(e.required_heartbeat, seconds(7));
  EXPECT_EQ(e.curse_tolerance, seconds(4));
  EXPECT_TRUE(e.graceful_shutdown);
  EXPECT_TRUE(e.no_blacklist);
  EXPECT_EQ(e.wrapper, "/usr/bin/uwsgi");
  EXPECT_EQ(e.vassals_inherit, std::vector<std::string>{"/i.ini"});
  EXPECT_EQ(e.vassals_include, std::vector<std::string>{"/j.ini"});
  EXPECT_EQ(e.vassal_set, (std::vector<std::string>{"processes=2", "master=1"}));
  EXPECT_EQ(e.on_demand_extension, ".sock");
  EXPECT_EQ(e.on_demand_directory, "/run/od");
  EXPECT_EQ(e.stats, "127.0.0.1:9191");
  EXPECT_EQ(e.listen_queue, 64);
  EXPECT_EQ(e.mercy, seconds(9));
  EXPECT_EQ(e.broodlord, 5u);
}

TEST_F(emperor_options_test, BroodlordComesFromAnIniFileToo) {
  const std::string ini = write("e.ini", "[uwsgi]\nemperor = /v\nemperor-broodlord = 3\n");
  EXPECT_EQ(emperor_of({"--ini", ini}).broodlord, 3u);
  EXPECT_NE(error_of({"--emperor-broodlord", "-1"}), "");
}

TEST_F(emperor_options_test, ForkServerOptions) {
  const emperor::emperor_config none = emperor_of({});
  EXPECT_TRUE(none.fork_server.empty());
  EXPECT_TRUE(none.fork_server_attr.empty());
  EXPECT_TRUE(none.fork_bases.empty());
  EXPECT_FALSE(none.subreaper);
  EXPECT_FALSE(none.uses_fork_server());
  const emperor::emperor_config e = emperor_of(
      {"--emperor", "/v", "--emperor-use-fork-server", "/run/base.sock", "--vassal-fork-base",
       "base", "--vassal-fork-base", "other.ini", "--emperor-subreaper"});
  EXPECT_EQ(e.fork_server, "/run/base.sock");
  EXPECT_EQ(e.fork_bases, (std::vector<std::string>{"base", "other.ini"}));
  EXPECT_TRUE(e.subreaper);
  EXPECT_TRUE(e.uses_fork_server());
  const std::string ini = write("f.ini",
                                "[uwsgi]\nemperor = /v\nemperor-fork-server-attr = fork-server\n"
                                "vassal-fork-base = base\n");
  const emperor::emperor_config f = emperor_of({"--ini", ini});
  EXPECT_EQ(f.fork_server_attr, "fork-server");
  EXPECT_EQ(f.fork_bases, std::vector<std::string>{"base"});
  EXPECT_TRUE(f.uses_fork_server());
  const std::string long_path = "/" + std::string(120, 'x');
  EXPECT_EQ(error_of({"--emperor-use-fork-server", long_path}),
            "emperor-use-fork-server: the unix socket path \"" + long_path +
                "\" is longer than 107 bytes");
}

TEST_F(emperor_options_test, MaxThrottleBelowThrottleIsAnError) {
  EXPECT_EQ(error_of({"--emperor-throttle", "500", "--emperor-max-throttle", "100"}),
            "emperor-max-throttle (100 ms) is less than emperor-throttle (500 ms)");
}

TEST_F(emperor_options_test, EnvironmentVariablesAreOptionsAndTheCommandLineWins) {
  options_result r =
      parse_options({"--processes", "3"},
                    {"UWSGI_SOCKET=127.0.0.1:3031", "UWSGI_PROCESSES=2", "UWSGI_EMPEROR_FD=7",
                     "UWSGI_RELOADS=1", "HOME=/root", "UWSGI_SOCKET_TIMEOUT=9"});
  ASSERT_TRUE(r.options.has_value()) << r.error;
  EXPECT_EQ(r.options->config.sockets, std::vector<std::string>{"127.0.0.1:3031"});
  EXPECT_EQ(r.options->config.processes, 3u);
  EXPECT_EQ(r.options->config.socket_timeout, seconds(9));
}

TEST_F(emperor_options_test, ABadEnvironmentValueNamesTheVariable) {
  options_result r = parse_options({}, {"UWSGI_PROCESSES=lots"});
  ASSERT_FALSE(r.options.has_value());
  EXPECT_NE(r.error.find("environment variable UWSGI_PROCESSES"), std::string::npos) << r.error;
}

TEST_F(emperor_options_test, SetGivesAnyOption) {
  const node::node_config c = parse({"--set", "processes=4", "--set", "socket=:3031"});
  EXPECT_EQ(c.processes, 4u);
  EXPECT_EQ(c.sockets, std::vector<std::string>{":3031"});
  const std::string ini = write("s.ini", "[uwsgi]\nset = listen=77\n");
  EXPECT_EQ(parse({"--ini", ini}).listen_queue, 77);
}

// `set` of a key that is no option defines a placeholder (uWSGI), reported; with strict it is
// an error naming it. Without '=' it is an error.
TEST_F(emperor_options_test, SetOfAnUnknownKeyIsAPlaceholderAndWithoutEqualsAnError) {
  options_result r = parse_options({"--set", "bogus=1", "--set", "listen=%(bogus)7"});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_EQ(r.options->config.listen_queue, 17);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("'bogus'"), std::string::npos) << r.warnings[0];
  EXPECT_EQ(error_of({"--strict", "--set", "bogus=1"}),
            "unknown option 'bogus' in --set bogus=1 (strict)");
  EXPECT_NE(error_of({"--set", "processes"}).find("not KEY=VALUE"), std::string::npos);
}

TEST_F(emperor_options_test, IncludeAndInheritReadIniFiles) {
  const std::string a = write("a.ini", "[uwsgi]\nprocesses = 5\n");
  const std::string b = write("b.ini", "[uwsgi]\nlisten = 33\n");
  const node::node_config c = parse({"--include", a, "--inherit", b});
  EXPECT_EQ(c.processes, 5u);
  EXPECT_EQ(c.listen_queue, 33);
}

TEST_F(emperor_options_test, LegionPlacementSource) {
  const emperor::emperor_config e = emperor_of(
      {"--emperor", "legion:web,/srv/vassals", "--emperor", "/etc/vassals", "--legion",
       "web 127.0.0.1:4001 1 s", "--legion-vassal-lease", "2000", "--legion-max-vassals", "8"});
  EXPECT_EQ(e.placement.legion, "web");
  EXPECT_EQ(e.placement.dir, "/srv/vassals");
  EXPECT_EQ(e.sources, std::vector<std::string>{"/etc/vassals"});
  EXPECT_TRUE(e.is_emperor());
  EXPECT_EQ(e.legion.times.vassal_lease, milliseconds(2000));
  EXPECT_EQ(e.legion.max_vassals, 8u);
  EXPECT_EQ(emperor_of({}).legion.times.vassal_lease, milliseconds(3000));
  EXPECT_EQ(error_of({"--emperor", "legion:db,/srv/vassals", "--legion", "web 127.0.0.1:4001 1 s"}),
            "emperor: legion:db,/srv/vassals: no legion 'db' is declared (legion = NAME ADDR VALOR "
            "SECRET)");
  EXPECT_EQ(error_of({"--emperor", "legion:web"}), "emperor: 'legion:web' is not legion:NAME,DIR");
}

}  // namespace
}  // namespace brood::cli
