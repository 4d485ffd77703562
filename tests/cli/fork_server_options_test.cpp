// The fork-server base's options (docs/config.md, "Fork server"): fork-server / fork-socket,
// early-python, early-pyimport / early-python-import, early-pythonpath / early-python-path,
// fork-server-warm-up.
#include <gtest/gtest.h>

#include "options_fixture.hpp"

namespace brood::cli {
namespace {

class fork_server_options_test : public options_fixture {};

TEST_F(fork_server_options_test, ForkServerAndItsAliasMakeAPythonBase) {
  for (const char* name : {"--fork-server", "--fork-socket"}) {
    const options_result r = parse_options({name, "/run/base.sock", "--module", "app"});
    ASSERT_TRUE(r.options) << r.error;
    EXPECT_EQ(r.options->app.fork_server, "/run/base.sock") << name;
    EXPECT_TRUE(r.options->app.wanted());
  }
  // A base without any app option still runs Python (its vassals bring theirs).
  const options_result bare = parse_options({"--fork-server", "/run/base.sock"});
  ASSERT_TRUE(bare.options) << bare.error;
  EXPECT_TRUE(bare.options->app.wanted());
}

TEST_F(fork_server_options_test, EarlyImportsAndPathsAreRepeatableWithTheirAliases) {
  const options_result r =
      parse_options({"--early-pyimport", "numpy", "--early-python-import", "json",
                     "--early-pythonpath", "/a", "--early-python-path", "/b", "--early-python"});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_EQ(r.options->app.early_imports, (std::vector<std::string>{"numpy", "json"}));
  EXPECT_EQ(r.options->app.early_pythonpath, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_TRUE(r.options->app.early_python);
  EXPECT_TRUE(r.options->app.wanted());  // early imports need the interpreter
}

TEST_F(fork_server_options_test, FromAnIniFile) {
  const std::string ini = write("base.ini",
                                "[uwsgi]\n"
                                "early-python = true\n"
                                "early-pyimport = heavy\n"
                                "fork-socket = /run/fs.sock\n"
                                "module = app\n");
  const options_result r = parse_options({"--ini", ini});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_EQ(r.options->app.fork_server, "/run/fs.sock");
  EXPECT_EQ(r.options->app.early_imports, (std::vector<std::string>{"heavy"}));
  EXPECT_TRUE(r.options->app.early_python);
}

TEST_F(fork_server_options_test, NoneSetByDefault) {
  const options_result r = parse_options({"--socket", ":3031"});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_TRUE(r.options->app.fork_server.empty());
  EXPECT_FALSE(r.options->app.early_python);
  EXPECT_TRUE(r.options->app.early_imports.empty());
  EXPECT_FALSE(r.options->app.wanted());
}

TEST_F(fork_server_options_test, WarmUpsAreRepeatableModuleColonFunction) {
  const options_result r =
      parse_options({"--fork-server", "/run/base.sock", "--fork-server-warm-up", "app:warm_up",
                     "--fork-server-warm-up", "pkg.mod:prime"});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_EQ(r.options->app.fork_server_warm_up,
            (std::vector<std::string>{"app:warm_up", "pkg.mod:prime"}));
  EXPECT_TRUE(parse_options({"--socket", ":3031"}).options->app.fork_server_warm_up.empty());
  for (const char* bad : {"app", ":warm_up", "app:"})
    EXPECT_NE(error_of({"--fork-server-warm-up", bad}).find("is not MODULE:FUNC"),
              std::string::npos)
        << bad;
}

TEST_F(fork_server_options_test, ForkServerNeedsAPath) {
  EXPECT_NE(error_of({"--fork-server"}).find("fork-server"), std::string::npos);
}

}  // namespace
}  // namespace brood::cli
