#pragma once
// Fixture: starts a real primes_node (brood's CLI with the demo handlers: m2 0 echo, m2 17 count
// primes in [lo, hi), m2 98 sleep {ms} then answer the worker pid, m2 99 the worker pid) on an
// ephemeral loopback port and waits until it is ready.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "eventually.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"

namespace brood::testing {

// The exit status (-1: did not exit normally within 10 s) and output of one `brood` command.
struct run_result {
  int status = -1;
  std::string output;
};

inline run_result run_brood(std::vector<std::string> args) {
  node_process p(BROOD_BINARY, std::move(args));
  auto st = p.wait_exit(10s);
  run_result r;
  if (st && WIFEXITED(*st)) r.status = WEXITSTATUS(*st);
  p.wait_eof(2s);  // every line read
  r.output = p.all_output();
  return r;
}

class node_fixture : public ::testing::Test {
 protected:
  // Starts a node with `extra` options after "--socket 127.0.0.1:0"; returns its address.
  std::string start_node(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--socket", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    nodes_.push_back(std::make_unique<node_process>(BROOD_PRIMES_NODE, args));
    auto& n = *nodes_.back();
    std::string address = n.wait_bound_address();
    EXPECT_FALSE(address.empty()) << n.all_output();
    EXPECT_TRUE(n.wait_ready()) << n.all_output();
    return address;
  }
  node_process& node(std::size_t i = 0) { return *nodes_.at(i); }

  std::vector<std::unique_ptr<node_process>> nodes_;
};

}  // namespace brood::testing
