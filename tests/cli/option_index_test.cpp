// option_index: find_option finds what boost's options_description::find_nothrow finds, and the
// defaults are what po::store leaves; store_over stores as po::store does.
#include "option_index.hpp"

#include <gtest/gtest.h>

#include <cstdint>

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

}  // namespace
}  // namespace brood::cli
