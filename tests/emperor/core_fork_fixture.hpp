#pragma once
// The fork server tests' fixture (docs/uwsgi-compat.md §17.2): a core with
// emperor-use-fork-server /run/base.sock and the fork base "base", the fake launcher of
// core_fixture.hpp, and helpers for a base and its adopted vassals.
#include <nlohmann/json.hpp>

#include "brood/emperor/stats.hpp"
#include "brood/emperor/vassal_command.hpp"
#include "core_fixture.hpp"

namespace brood::emperor::testing {

inline constexpr std::uint8_t stop_byte = 0, reload_byte = 1, hand_over_byte = 3;

class core_fork_test : public core_fixture {
 protected:
  void SetUp() override {
    emperor_config cfg;
    cfg.sources = {"/etc/vassals"};
    cfg.fork_server = "/run/base.sock";
    cfg.fork_bases = {"base"};
    cfg.fork_base_wait = std::chrono::milliseconds(5000);
    make_core(cfg);
  }
  static vassal_file base_file(std::time_t mtime = 1) {
    vassal_file f = file("base.ini", mtime);
    f.serves = "/run/base.sock";
    return f;
  }
  // A ready base and `app.ini` adopted from it.
  void ready_base_and_app() {
    add(base_file(), 0);
    message(pid_of("base.ini"), wire::vassal_message::ready, 0.5);
    add(file("app.ini"), 1);
    ASSERT_TRUE(v("app.ini").adopted);
  }
  nlohmann::json stats_of(const std::string& name) const {
    const auto doc = nlohmann::json::parse(stats_json(*core));
    for (const auto& j : doc["vassals"])
      if (j["id"] == name) return j;
    return {};
  }
};

}  // namespace brood::emperor::testing
