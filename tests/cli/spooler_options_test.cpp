// The spooler options of `brood` (docs/uwsgi-compat.md §3.6 plus brood's retry options): defaults,
// the command line, ini files, aliases, and errors that name the option. In-process, no network.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

using spooler_options_test = options_fixture;

TEST_F(spooler_options_test, DefaultsMatchUwsgi) {
  const spooler::spooler_config s = parse({}).spooler;
  EXPECT_FALSE(s.any());
  EXPECT_EQ(s.processes, 1u);
  EXPECT_EQ(s.frequency, seconds(30));
  EXPECT_FALSE(s.ordered);
  EXPECT_EQ(s.max_tasks, 0u);
  EXPECT_EQ(s.harakiri, seconds(0));
  EXPECT_TRUE(s.chdir.empty());
  EXPECT_FALSE(s.quiet);
  EXPECT_EQ(s.max_attempts, 10u);
  EXPECT_EQ(s.retry_delay, milliseconds(1000));
  EXPECT_EQ(s.retry_max_delay, milliseconds(300000));
  EXPECT_EQ(s.log_size, 4u << 20);
  EXPECT_EQ(s.log_max_age, milliseconds(2000));
}

TEST_F(spooler_options_test, CommandLineFillsEveryField) {
  const node::node_config c = parse({"--spooler",
                                     "/a",
                                     "-Q",
                                     "/b",
                                     "--spooler-external",
                                     "/c",
                                     "--spooler-processes",
                                     "3",
                                     "--spooler-freq",
                                     "2",
                                     "--spooler-ordered",
                                     "--spooler-max-tasks",
                                     "50",
                                     "--spooler-harakiri",
                                     "9",
                                     "--spooler-chdir",
                                     "/tmp",
                                     "--spooler-quiet",
                                     "--spooler-max-attempts",
                                     "0",
                                     "--spooler-retry-delay",
                                     "5",
                                     "--spooler-retry-max-delay",
                                     "40",
                                     "--spooler-log-size",
                                     "1048576",
                                     "--spooler-log-max-age",
                                     "250"});
  const spooler::spooler_config& s = c.spooler;
  EXPECT_EQ(s.dirs, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(s.external_dirs, (std::vector<std::string>{"/c"}));
  EXPECT_EQ(s.processes, 3u);
  EXPECT_EQ(s.frequency, seconds(2));
  EXPECT_TRUE(s.ordered);
  EXPECT_EQ(s.max_tasks, 50u);
  EXPECT_EQ(s.harakiri, seconds(9));
  EXPECT_EQ(s.chdir, "/tmp");
  EXPECT_TRUE(s.quiet);
  EXPECT_EQ(s.max_attempts, 0u);
  EXPECT_EQ(s.retry_delay, milliseconds(5));
  EXPECT_EQ(s.retry_max_delay, milliseconds(40));
  EXPECT_EQ(s.log_size, 1048576u);
  EXPECT_EQ(s.log_max_age, milliseconds(250));
  EXPECT_TRUE(c.master) << "a spooler implies the master, as in uWSGI";
}

TEST_F(spooler_options_test, ExternalOnlyNeedsNoMaster) {
  const node::node_config c = parse({"--spooler-external", "/c"});
  EXPECT_TRUE(c.spooler.any());
  EXPECT_TRUE(c.spooler.dirs.empty());
  EXPECT_FALSE(c.master);
}

TEST_F(spooler_options_test, IniFileWithUwsgiNames) {
  std::string ini = write("s.ini",
                          "[uwsgi]\n"
                          "spooler = /one\n"
                          "spooler = /two\n"
                          "spooler-frequency = 7\n"
                          "spooler-ordered = true\n"
                          "spooler-quiet = 0\n"
                          "spooler-retry-delay = 250\n");
  const spooler::spooler_config s = parse({"--ini", ini}).spooler;
  EXPECT_EQ(s.dirs, (std::vector<std::string>{"/one", "/two"}));
  EXPECT_EQ(s.frequency, seconds(7));
  EXPECT_TRUE(s.ordered);
  EXPECT_FALSE(s.quiet);
  EXPECT_EQ(s.retry_delay, milliseconds(250));
}

TEST_F(spooler_options_test, CommandLineAndIniAddUpInOrder) {
  std::string ini = write("s.ini", "[uwsgi]\nspooler = /ini\nspooler-freq = 4\n");
  const spooler::spooler_config s =
      parse({"-Q", "/cli", "--ini", ini, "--spooler-frequency", "5"}).spooler;
  EXPECT_EQ(s.dirs, (std::vector<std::string>{"/cli", "/ini"}));
  EXPECT_EQ(s.frequency, seconds(5));
}

TEST_F(spooler_options_test, BadValuesAreNamed) {
  EXPECT_EQ(error_of({"--spooler-processes", "0"}),
            "invalid value '0' for option '--spooler-processes': must be between 1 and 1024");
  EXPECT_EQ(error_of({"--spooler-frequency", "abc"}),
            "invalid value 'abc' for option '--spooler-frequency': not an unsigned integer");
  EXPECT_NE(error_of({"--spooler-freq", "-1"}).find("'--spooler-freq'"), std::string::npos);
  EXPECT_NE(error_of({"--spooler-ordered=maybe"}).find("'--spooler-ordered'"), std::string::npos);
  EXPECT_EQ(error_of({"--spooler", ""}), "invalid value '' for option '--spooler': empty value");
  EXPECT_EQ(error_of({"--spooler-retry-delay", "1000", "--spooler-retry-max-delay", "10"}),
            "spooler-retry-max-delay (10 ms) is less than spooler-retry-delay (1000 ms)");
}

TEST_F(spooler_options_test, BadIniValueNamesTheLine) {
  std::string ini = write("s.ini", "[uwsgi]\nspooler = /x\nspooler-harakiri = soon\n");
  EXPECT_EQ(error_of({"--ini", ini}), "invalid value 'soon' for option 'spooler-harakiri' in " +
                                          ini + " line 3: not an unsigned integer");
}

TEST_F(spooler_options_test, HelpListsTheSpoolerOptions) {
  const std::string help = help_text();
  for (const char* name :
       {"--spooler", "-Q", "--spooler-external", "--spooler-processes", "--spooler-frequency",
        "--spooler-freq", "--spooler-ordered", "--spooler-max-tasks", "--spooler-harakiri",
        "--spooler-chdir", "--spooler-quiet", "--spooler-max-attempts", "--spooler-retry-delay",
        "--spooler-retry-max-delay", "--spooler-log-size", "--spooler-log-max-age",
        "brood spool ADDR"})
    EXPECT_NE(help.find(name), std::string::npos) << name;
}

}  // namespace
}  // namespace brood::cli
