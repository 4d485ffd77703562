// The pieces of the config syntax alone: magic variables of a path, $(ENV)/@(file) references,
// and the late placeholder pass (values checked against uWSGI 2.0.21's show-config).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ini_expand.hpp"
#include "option_values.hpp"
#include "placeholders.hpp"

namespace brood::cli {
namespace {

TEST(config_expand_test, MagicVariablesOfAPath) {
  magic_context m = magic_for_file("/tmp/ini-exp/sub/a.b.ini");
  EXPECT_EQ(expand_magic("%d|%p|%s|%n|%e|%c|%0|%1|%2|%3|%o", m),
            "/tmp/ini-exp/sub/|/tmp/ini-exp/sub/a.b.ini|a.b.ini|a.b|ini|sub|tmp|ini-exp|sub||"
            "/tmp/ini-exp/sub/a.b.ini");
  EXPECT_EQ(expand_magic("%j", m), "ABC4C5BE");  // what uWSGI 2.0.21 prints for this path
  EXPECT_EQ(expand_magic("100%% %(x) %x%X%q end%", m), "100% %(x)  end%");
}

TEST(config_expand_test, EnvironmentReferences) {
  const std::vector<std::string> env{"A=1", "AB=2"};
  EXPECT_EQ(expand_references("$(A)$(AB)$(C)$(", env), "12$(C)$(");
  EXPECT_THROW(expand_references("@(/nonexistent/x)", env), option_error);
}

TEST(config_expand_test, PlaceholdersResolveChainsAndStopOnCycles) {
  std::vector<config_entry> e{{"n1", {"%(n2)"}, {}},  {"n2", {"x%(n3)"}, {}},
                              {"n3", {"y"}, {}},      {"q", {"%(self)"}, {}},
                              {"self", {"%(q)"}, {}}, {"grow", {"%(grow)%(grow)"}, {}}};
  expand_placeholders(e);
  EXPECT_EQ(e[0].value.front(), "xy");
  EXPECT_EQ(e[1].value.front(), "xy");
  EXPECT_EQ(e[3].value.front(), "%(q)");  // as uWSGI
  EXPECT_EQ(e[4].value.front(), "%(q)");
  EXPECT_LE(e[5].value.front().size(), std::size_t{1} << 20);
}

}  // namespace
}  // namespace brood::cli
