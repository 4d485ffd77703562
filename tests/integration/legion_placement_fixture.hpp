#pragma once
// Three emperors on loopback, members of legion "web" (valor 1, 2, 3, one secret), sharing one
// directory of brood vassals through `emperor = legion:web,DIR`: the fixture of the placement
// integration tests over ZeroMQ (legion_placement_test.cpp) and over etcd
// (legion_placement_etcd_test.cpp), which adds its backend's options (backend_args) and servers.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <map>

#include "emperor_fixture.hpp"

namespace brood::testing {

// True once `pid` has exited (gone, or a zombie waiting for its reaper).
inline bool exited(long long pid) {
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

class legion_placement_fixture : public ::testing::Test {
 protected:
  explicit legion_placement_fixture(const char* dir_prefix) : dir_(dir_prefix) {}

  void SetUp() override {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    fs::create_directory(dir_ / "vassals");
    for (int i = 0; i < 3; ++i) {
      legion_.push_back(fresh_address());
      stats_.push_back(fresh_address());
    }
  }

  void TearDown() override {
    for (auto& e : emperors_) e.reset();
    stop_servers();
    reap_all_children();
  }

  // The options of the legion's backend and the vassal lease (ZeroMQ: a 1500 ms vassal lease).
  virtual std::vector<std::string> backend_args() const {
    return {"--legion-vassal-lease", "1500"};
  }
  virtual void stop_servers() {}  // after the emperors, before the reaping

  std::string fresh_address() {
    for (;;) {
      std::string a = dead_address();
      if (handed_out_.insert(a).second) return a;
    }
  }

  fs::path vassals() const { return dir_ / "vassals"; }

  void write_vassals(int n) {
    for (int i = 0; i < n; ++i)
      std::ofstream(vassals() / ("v" + std::to_string(i) + ".ini"))
          << "[uwsgi]\nsocket = 127.0.0.1:0\nprocesses = 1\n";
  }

  void start(int i, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--emperor",
                                  "legion:web," + vassals().string(),
                                  "--emperor-stats",
                                  stats_[i],
                                  "--emperor-freq",
                                  "1",
                                  "--emperor-throttle",
                                  "200",
                                  "--emperor-max-throttle",
                                  "400",
                                  "--emperor-curse-tolerance",
                                  "2",
                                  "--reload-mercy",
                                  "2",
                                  "--legion",
                                  "web " + legion_[i] + " " + std::to_string(i + 1) + " s3cr3t",
                                  "--legion-heartbeat",
                                  "100",
                                  "--legion-lease",
                                  "500"};
    for (const std::string& a : backend_args()) args.push_back(a);
    for (int j = 0; j < 3; ++j) args.insert(args.end(), {"--legion-node", "web " + legion_[j]});
    args.insert(args.end(), extra.begin(), extra.end());
    emperors_[i] = std::make_unique<node_process>(BROOD_BINARY, args);
  }

  nlohmann::json stats(int i) {
    raw_socket s(stats_[i]);
    if (!s.connected()) return nullptr;
    auto text = s.read_to_eof(2s);
    if (!text) return nullptr;
    return nlohmann::json::parse(*text, nullptr, false);
  }

  // Emperor i's ready vassals: name -> pid (empty when its stats cannot be read).
  std::map<std::string, long long> ready(int i) {
    std::map<std::string, long long> out;
    if (!emperors_[i]) return out;
    nlohmann::json doc = stats(i);
    if (!doc.is_object() || !doc["vassals"].is_array()) return out;
    for (const auto& v : doc["vassals"])
      if (v.value("ready", 0) == 1 && v.value("pid", -1LL) > 0)
        out[v.value("id", "")] = v.value("pid", -1LL);
    return out;
  }

  // True when the live emperors run `want[i]` ready vassals each, `total` distinct in all, and
  // each of them on exactly one emperor.
  bool spread(std::map<int, std::size_t> want, std::size_t total) {
    std::map<std::string, int> copies;
    for (auto& [i, n] : want) {
      const auto r = ready(i);
      if (r.size() != n) return false;
      for (auto& [name, pid] : r) ++copies[name];
    }
    if (copies.size() != total) return false;
    for (auto& [name, k] : copies)
      if (k != 1) return false;
    return true;
  }

  std::string outputs() {
    std::string out;
    for (auto& e : emperors_)
      if (e) out += "----\n" + e->all_output();
    return out;
  }

  // SIGKILL of emperor i alone: its vassals (PDEATHSIG) must not outlive it. Then reaped.
  void kill_emperor(int i) {
    const auto had = ready(i);
    ASSERT_FALSE(had.empty());
    ::kill(emperors_[i]->pid(), SIGKILL);
    for (auto& [name, pid] : had)
      EXPECT_TRUE(eventually([pid = pid] { return exited(pid); }, 10s)) << name << " survived";
    emperors_[i].reset();
  }

  temp_dir dir_;
  std::set<std::string> handed_out_;
  std::vector<std::string> legion_, stats_;
  std::unique_ptr<node_process> emperors_[3];
};

}  // namespace brood::testing
