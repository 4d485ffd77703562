#pragma once
// Fixture of the emperor integration tests: a temp dir of vassal files, a real
// `brood --emperor DIR` (stderr captured, its vassals' too), its emperor-stats JSON read over
// TCP, and helpers to write vassal files (tests wait for conditions with eventually()). The test
// process is a child subreaper, so vassals orphaned by a killed emperor are reaped here.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "eventually.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

namespace brood::testing {

namespace fs = std::filesystem;
using namespace std::chrono;

class emperor_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    fs::create_directory(dir_ / "vassals");
    stats_ = fresh_address();
  }

  void TearDown() override {
    emperor_.reset();     // SIGKILL to its process group, reaped
    reap_all_children();  // vassals orphaned by the SIGKILL (they get PDEATHSIG)
  }

  fs::path vassals() const { return dir_ / "vassals"; }

  // Starts the emperor on the vassals dir with fast timings, plus `extra` options.
  void start_emperor(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--emperor",
                                  vassals().string(),
                                  "--emperor-freq",
                                  "1",
                                  "--emperor-stats",
                                  stats_,
                                  "--emperor-throttle",
                                  "200",
                                  "--emperor-max-throttle",
                                  "800",
                                  "--emperor-curse-tolerance",
                                  "2",
                                  "--reload-mercy",
                                  "3"};
    args.insert(args.end(), extra.begin(), extra.end());
    emperor_ = std::make_unique<node_process>(BROOD_BINARY, args);
  }

  // A free loopback TCP address not handed out before in this test (dead_address alone may
  // return the same port twice: nothing holds it between the calls).
  std::string fresh_address() {
    for (;;) {
      std::string a = dead_address();
      if (handed_out_.insert(a).second) return a;
    }
  }

  // Writes a brood vassal NAME.ini serving a free TCP port; returns the address.
  std::string write_vassal(const std::string& name, const std::string& more = "") {
    std::string address = fresh_address();
    std::ofstream(vassals() / (name + ".ini"))
        << "[uwsgi]\nsocket = " << address << "\nprocesses = 1\n"
        << more;
    return address;
  }

  // Moves the file's mtime forward (the emperor compares it with what it recorded).
  void touch(const std::string& file) {
    fs::path p = vassals() / file;
    fs::last_write_time(p, fs::last_write_time(p) + 2s);
  }

  // The emperor-stats document, or null when it cannot be read or parsed.
  nlohmann::json stats() {
    raw_socket s(stats_);
    if (!s.connected()) return nullptr;
    auto text = s.read_to_eof(2s);
    if (!text) return nullptr;
    return nlohmann::json::parse(*text, nullptr, false);
  }

  // The stats entry of vassal `id`, or null.
  nlohmann::json vassal(const std::string& id) {
    nlohmann::json doc = stats();
    if (!doc.is_object() || !doc["vassals"].is_array()) return nullptr;
    for (const auto& v : doc["vassals"])
      if (v.value("id", "") == id) return v;
    return nullptr;
  }

  bool logged(const std::string& re, milliseconds timeout = 10s) {
    return emperor_->wait_for_line(std::regex(re), timeout).has_value();
  }
  std::size_t count(const std::string& re) { return emperor_->count_lines(std::regex(re)); }
  std::string output() { return emperor_->all_output(); }

  static bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

  temp_dir dir_{"brood_emperor_"};
  std::set<std::string> handed_out_;
  std::string stats_;
  std::unique_ptr<node_process> emperor_;
};

}  // namespace brood::testing
