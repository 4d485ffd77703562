#pragma once
// A fixture for option-parsing tests of `brood`: a temp dir for ini files, parse() and
// error_of(). In-process, no network.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "options.hpp"
#include "temp_dir.hpp"

namespace brood::cli {

class options_fixture : public ::testing::Test {
 protected:
  // Writes `text` to DIR/name and returns its path.
  std::string write(const std::string& name, const std::string& text) {
    std::string p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

  // The config of valid options (a test failure when they are not valid).
  static node::node_config parse(const std::vector<std::string>& args) {
    options_result r = parse_options(args);
    EXPECT_TRUE(r.options.has_value()) << r.error;
    return r.options ? r.options->config : node::node_config{};
  }

  // The error text of invalid options (a test failure when they are valid).
  static std::string error_of(const std::vector<std::string>& args) {
    options_result r = parse_options(args);
    EXPECT_FALSE(r.options.has_value());
    return r.error;
  }

  testing::temp_dir dir_{"brood-options-"};
};

}  // namespace brood::cli
