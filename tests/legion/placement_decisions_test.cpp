// The lord's decisions as its log has them (placement::take_decisions): each placement with the
// member it went to, a lost member's copies released before they are placed elsewhere; the
// other members decide nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "placement_sim.hpp"

namespace brood::legion {
namespace {

using namespace std::chrono_literals;
using sim::cluster;

std::size_t count_containing(const std::vector<std::string>& lines, const std::string& part) {
  return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& l) {
    return l.find(part) != std::string::npos;
  }));
}

TEST(placement_decisions_test, TheLordLogsEachPlacementAndALostMembersRelease) {
  cluster c(3, 1, sim::test_params());
  c.elect(0);
  std::vector<vassal_spec> six;
  for (int i = 0; i < 6; ++i) six.push_back({"v" + std::to_string(100 + i) + ".ini", 1});
  c.set_catalog(six);
  ASSERT_TRUE(c.run_until([&] { return c.where().size() == 6 && c.total_starts() == 6; }, 5s));
  const std::vector<std::string> placed = c.at(0).machine.take_decisions();
  EXPECT_EQ(count_containing(placed, " placed on "), 6u);
  for (const auto& [vassal, members] : c.where())
    EXPECT_EQ(count_containing(placed, vassal + " placed on " + members.at(0) + " ("), 1u)
        << vassal;
  EXPECT_TRUE(c.at(1).machine.take_decisions().empty());
  EXPECT_TRUE(c.at(2).machine.take_decisions().empty());

  // m3 cut: once its lease is over the lord releases its copies, then places them elsewhere.
  std::vector<std::string> on_m3;
  for (const auto& [vassal, members] : c.where())
    if (members.at(0) == "m3") on_m3.push_back(vassal);
  ASSERT_FALSE(on_m3.empty());
  c.at(2).cut = true;
  ASSERT_TRUE(c.run_until(
      [&] {
        const auto w = c.where();
        return std::none_of(on_m3.begin(), on_m3.end(), [&](const std::string& v) {
          return !w.count(v) || w.at(v).empty() || w.at(v).at(0) == "m3";
        });
      },
      5s));
  const std::vector<std::string> after = c.at(0).machine.take_decisions();
  ASSERT_EQ(count_containing(after, "m3's lease is over: its " + std::to_string(on_m3.size()) +
                                        " vassal(s) released"),
            1u)
      << ::testing::PrintToString(after);
  for (const std::string& v : on_m3)
    EXPECT_EQ(count_containing(after, v + " placed on m"), 1u) << v;
}

}  // namespace
}  // namespace brood::legion
