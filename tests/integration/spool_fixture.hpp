#pragma once
// Fixture of the remote-enqueue tests: a fresh temp dir, real processes (brood nodes, uWSGI)
// with their output captured, and helpers to look at spool dirs and to frame spool requests.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "brood/wire/spool_file.hpp"
#include "brood/wire/vars.hpp"
#include "eventually.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

namespace brood::testing {

namespace fs = std::filesystem;

class spool_fixture : public ::testing::Test {
 protected:
  void TearDown() override {
    procs_.clear();  // SIGKILL and reap before dir_ goes: their private mounts go with them
  }

  // Starts `binary` with `args` and waits for its first bound TCP address ("" on failure).
  std::string start(const std::string& binary, std::vector<std::string> args) {
    procs_.push_back(std::make_unique<node_process>(binary, std::move(args)));
    std::string address = procs_.back()->wait_bound_address();
    EXPECT_FALSE(address.empty()) << procs_.back()->all_output();
    return address;
  }
  // A brood node on 127.0.0.1:0 with `extra` options, ready to serve.
  std::string start_brood(std::vector<std::string> extra) {
    std::vector<std::string> args{"--socket", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string address = start(BROOD_BINARY, std::move(args));
    EXPECT_TRUE(proc().wait_ready()) << proc().all_output();
    return address;
  }
  node_process& proc(std::size_t i = 0) { return *procs_.at(i); }

  // The names in `dir`, sorted ("." and ".." left out; a missing dir is empty).
  static std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      out.push_back(it->path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::vector<std::string> task_files(const std::string& dir) {
    std::vector<std::string> out;
    for (auto& name : entries(dir))
      if (name.starts_with(wire::spool_file_prefix)) out.push_back(name);
    return out;
  }
  static std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  // The vars of the spool file at `path` (decoded and checksum-checked), or a failure.
  static ::testing::AssertionResult decode_task(
      const std::string& path, std::vector<std::pair<std::string, std::string>>& out) {
    const std::string text = read_file(path);
    const wire::bytes file(text.begin(), text.end());
    wire::spool_file_view view;
    const wire::decode_result res = wire::decode_spool_file(file, view);
    if (!res.is_done()) return ::testing::AssertionFailure() << path << ": " << res.why;
    if (!view.checksummed) return ::testing::AssertionFailure() << path << ": no brood_checksum";
    out.clear();
    for (const auto& v : view.vars) out.emplace_back(v.key, v.value);
    return ::testing::AssertionSuccess();
  }

  // [17, size, 0] + `block`.
  static wire::bytes spool_packet(const wire::bytes& block) {
    wire::bytes out;
    EXPECT_FALSE(wire::append_packet(out, wire::to_byte(wire::modifier1::spooler), 0, block));
    return out;
  }
  static wire::bytes vars_block(const std::vector<wire::var>& vars) {
    wire::bytes out;
    EXPECT_FALSE(wire::append_vars(out, vars));
    return out;
  }
  // Sends one raw spool request on `s` and returns the 4 answer bytes (empty on none).
  static wire::bytes exchange(raw_socket& s, const wire::bytes& packet) {
    if (!s.send(packet)) return {};
    return s.read_exact(4, std::chrono::seconds(5)).value_or(wire::bytes{});
  }  // One enqueue on a connection of its own (the node closes after each answer, as uWSGI).
  static wire::bytes enqueue(const std::string& address, const wire::bytes& packet) {
    raw_socket s(address);
    return exchange(s, packet);
  }

  static inline const wire::bytes ack{0xFF, 0x00, 0x00, 0x01};
  static inline const wire::bytes refusal{0xFF, 0x00, 0x00, 0x00};

  temp_dir dir_{"brood-spool-"};
  std::vector<std::unique_ptr<node_process>> procs_;
};

}  // namespace brood::testing
