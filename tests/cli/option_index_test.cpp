// option_index: find_option finds what boost's options_description::find_nothrow finds, and the
// defaults are what po::store leaves; store_over stores as po::store does.
#include "option_index.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "option_table.hpp"

namespace brood::cli {
namespace {

namespace po = boost::program_options;

TEST(option_index, FindsWhatBoostFindsByEveryName) {
  const po::options_description& table = option_table();
  ASSERT_GT(table.options().size(), 100u);
  for (const auto& d : table.options()) {
    const auto [names, count] = d->long_names();
    for (std::size_t i = 0; i < count; ++i) {
      EXPECT_EQ(find_option(names[i]), table.find_nothrow(names[i], false)) << names[i];
      EXPECT_EQ(find_option(names[i]), d.get()) << names[i];
    }
  }
  EXPECT_EQ(find_option("-s"), table.find_nothrow("-s", false));
  EXPECT_EQ(find_option("-s"), find_option("socket"));
  EXPECT_EQ(find_option("no-such-option"), nullptr);
  EXPECT_EQ(find_option("strict"), nullptr);  // a config-syntax key, not in the option table
}

TEST(option_index, DefaultsAreWhatStoreLeaves) {
  po::variables_map stored;
  po::store(po::parsed_options(&option_table()), stored);
  const po::variables_map& defaults = option_defaults();
  ASSERT_EQ(defaults.size(), stored.size());
  for (const auto& [key, value] : stored) {
    const auto found = defaults.find(key);
    ASSERT_NE(found, defaults.end()) << key;
    EXPECT_TRUE(found->second.defaulted()) << key;
    EXPECT_EQ(found->second.value().type(), value.value().type()) << key;
  }
  EXPECT_EQ(defaults["processes"].as<std::uint64_t>(), 1u);
  EXPECT_EQ(defaults["buffer-size"].as<std::uint64_t>(), 4096u);
}

TEST(option_index, StoreOverReplacesADefaultAndComposesARepeatableOption) {
  po::variables_map vm = option_defaults();
  store_over(vm, "processes", {"4"});
  EXPECT_FALSE(vm["processes"].defaulted());
  EXPECT_EQ(vm["processes"].as<std::uint64_t>(), 4u);
  store_over(vm, "socket", {"127.0.0.1:1"});
  store_over(vm, "socket", {"127.0.0.1:2"});
  EXPECT_EQ(vm["socket"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2"}));
  EXPECT_TRUE(option_defaults()["processes"].defaulted());  // the copy only changed
  EXPECT_THROW(store_over(vm, "no-such-option", {"1"}), po::unknown_option);
}

// What boost's command-line parser makes of `args` over `table`, as the collector reads it: per
// option its key (empty for an unregistered one), its tokens and whether it is unregistered.
std::vector<std::string> parsed_with(const po::options_description& table,
                                     const std::vector<std::string>& args) {
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  std::vector<std::string> out;
  for (const po::option& o : po::command_line_parser(args)
                                 .options(table)
                                 .style(style)
                                 .allow_unregistered()
                                 .run()
                                 .options) {
    std::string line = (o.unregistered ? "?" : "") + o.string_key + ":";
    for (const std::string& v : o.value) line += " " + v;
    line += " |";
    for (const std::string& t : o.original_tokens) line += " " + t;
    out.push_back(line);
  }
  return out;
}

TEST(option_index, CommandLineTableHoldsOnlyTheOptionsTheTokensName) {
  const po::options_description named =
      command_line_table({"--ini", "v.ini", "--socket=:3031", "-M", "-p4", "--no-such", "--"});
  std::vector<std::string> keys;
  for (const auto& d : named.options()) keys.push_back(d->long_name());
  // -p4 also names -4 (no such short form): each character of a short token is looked up.
  EXPECT_EQ(keys, (std::vector<std::string>{"ini", "socket", "master", "processes"}));
  EXPECT_TRUE(command_line_table({"v.ini", "-", "--"}).options().empty());
  // A name given twice is added once.
  EXPECT_EQ(command_line_table({"--socket", ":1", "--socket", ":2", "-s", ":3"}).options().size(),
            1u);
}

TEST(option_index, TheParserFindsOverTheCommandLineTableWhatItFindsOverTheWholeTable) {
  const std::vector<std::vector<std::string>> lines = {
      {"--ini", "/tmp/v.ini"},
      {"--socket", "127.0.0.1:3031", "--master", "--processes", "4", "--module", "app"},
      {"--socket=:3031", "-M", "-p4", "-s", ":3032", "-w", "app:application"},
      {"-Mp", "2", "--processes=3", "--enable-threads"},
      {"--socket", "--master"},  // a value that looks like an option
      {"--cheap", "--emperor-tyrant", "1", "--no-such-option", "x"},  // uWSGI options brood lacks
      {"--strict", "--show-config", "--set", "a=b", "--set-placeholder", "c=d"},
      {"--socket", ":1", "--", "--master"},
      {"-x", "-Z", "--PROCESSES", "2"},
  };
  std::size_t parsed = 0;  // lines boost parses without an error
  for (const auto& args : lines) {
    std::string shown;
    for (const std::string& a : args) shown += a + " ";
    std::vector<std::string> whole, named;
    std::string whole_error, named_error;
    try {
      whole = parsed_with(parse_table(), args);
    } catch (const po::error& e) {
      whole_error = e.what();
    }
    try {
      named = parsed_with(command_line_table(args), args);
    } catch (const po::error& e) {
      named_error = e.what();
    }
    EXPECT_EQ(named, whole) << shown;
    EXPECT_EQ(named_error, whole_error) << shown;
    parsed += whole_error.empty() && !whole.empty();
  }
  EXPECT_GE(parsed, lines.size() - 2);
}

}  // namespace
}  // namespace brood::cli
