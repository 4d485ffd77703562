// The ini reader of `brood` (cli/src/ini.cpp): lines, sections, specs, errors with line numbers.
#include <gtest/gtest.h>

#include <string>

#include "ini.hpp"
#include "option_values.hpp"

namespace brood::cli {
namespace {

class ini_test : public ::testing::Test {
 protected:
  static std::vector<ini_line> keyed(std::string_view text) {
    std::vector<ini_line> out;
    for (auto& l : parse_ini_text(text, "t.ini"))
      if (!l.key.empty()) out.push_back(l);
    return out;
  }
  static std::string error_of(std::string_view text) {
    try {
      parse_ini_text(text, "t.ini");
    } catch (const option_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "no error for: " << text;
    return {};
  }
};

TEST_F(ini_test, KeysValuesSectionsAndLineNumbers) {
  auto lines =
      keyed("top = 1\n[uwsgi]\n; c\n# c\n socket = :1 \nsocket=:2\n[ brood ]\nk = a = b\n");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].section, "");
  EXPECT_EQ(lines[0].key, "top");
  EXPECT_EQ(lines[1].section, "uwsgi");
  EXPECT_EQ(lines[1].key, "socket");
  EXPECT_EQ(lines[1].value, ":1");
  EXPECT_EQ(lines[1].line, 5);
  EXPECT_EQ(lines[2].value, ":2");
  EXPECT_EQ(lines[3].section, "brood");
  EXPECT_EQ(lines[3].value, "a = b");  // only the first '=' splits
  EXPECT_EQ(lines[3].line, 8);
}

TEST_F(ini_test, EmptyValueAndCrLf) {
  auto lines = keyed("[uwsgi]\r\nmaster =\r\nx = y\r\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].value, "");
  EXPECT_EQ(lines[1].value, "y");
}

TEST_F(ini_test, NoInlineComments) {
  auto lines = keyed("[uwsgi]\nx = a ; b\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].value, "a ; b");
}

TEST_F(ini_test, BareKeyHasAnEmptyValue) {
  auto lines = keyed("[uwsgi]\nmaster\n  vacuum  \n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].key, "master");
  EXPECT_EQ(lines[0].value, "");
  EXPECT_EQ(lines[1].key, "vacuum");
  EXPECT_EQ(lines[1].line, 3);
}

TEST_F(ini_test, MalformedLinesNameFileAndLine) {
  EXPECT_NE(error_of("[uwsgi\n").find("t.ini line 1"), std::string::npos);
  EXPECT_NE(error_of("[uwsgi]\n = v\n").find("t.ini line 2"), std::string::npos);
}

TEST_F(ini_test, SplitSpec) {
  EXPECT_EQ(split_ini_spec("a.ini").path, "a.ini");
  EXPECT_EQ(split_ini_spec("a.ini").section, "");
  EXPECT_EQ(split_ini_spec("a.ini:zerg").path, "a.ini");
  EXPECT_EQ(split_ini_spec("a.ini:zerg").section, "zerg");
  EXPECT_EQ(split_ini_spec("/x:y/a.ini").path, "/x:y/a.ini");
  EXPECT_EQ(split_ini_spec("/x:y/a.ini").section, "");
  EXPECT_EQ(split_ini_spec("/x:y/a.ini:s").section, "s");
}

}  // namespace
}  // namespace brood::cli
