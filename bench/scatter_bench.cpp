// Benchmark (c) of issue 2: scatter/gather to 8 local nodes with send_multi_message, p50/p99,
// against one send_message call measured in the same run. Then one node of the 8 replaced by a
// dead one (connection refused) and by a stalled one (accepts, never answers): the extra cost
// over the call timeout. Placements (a single call's cost depends on it ~5x on this 2-vCPU
// machine, so each is reported): same-cpu (client and 8 nodes on CPU 0), split (client on CPU 0,
// nodes on CPU 1), os-scheduled (nobody pinned).

#include <cstdlib>
#include <iostream>
#include <memory>

#include "bench_util.hpp"
#include "brood/client/client.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"

using namespace brood;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

std::vector<double> time_multi(const std::vector<client::target>& targets, milliseconds timeout,
                               int n, std::size_t expect_ok) {
  std::vector<double> s;
  for (int i = 0; i < n; ++i) {
    auto t = bench::clock::now();
    auto results = client::send_multi_message(targets, 33, 0, timeout);
    s.push_back(bench::micros_since(t));
    std::size_t ok = 0;
    for (auto& r : results) ok += r ? 1 : 0;
    if (ok != expect_ok) {
      std::cerr << "scatter: " << ok << " answers, expected " << expect_ok << "\n";
      std::exit(1);
    }
  }
  return s;
}

struct placement {
  const char* name;
  int client_cpu;
  int nodes_cpu;
};

void run(const placement& p, int iterations, bool dead_node_figures) {
  std::vector<std::unique_ptr<testing::node_process>> nodes;
  std::vector<client::target> targets;
  for (int i = 0; i < 8; ++i) {
    nodes.push_back(std::make_unique<testing::node_process>(
        BROOD_PRIMES_NODE, std::vector<std::string>{"--processes", "1", "--socket", "127.0.0.1:0"},
        p.nodes_cpu));
  }
  for (auto& n : nodes) {
    auto a = n->wait_bound_address();
    if (a.empty() || !n->wait_ready()) {
      std::cerr << n->all_output();
      std::exit(1);
    }
    targets.push_back({a, wire::value(wire::binary{wire::bytes(62, 0x33)})});
  }
  bench::pin_to_cpu(p.client_cpu);
  time_multi(targets, 1s, 300, 8);  // warm up (connections pooled)
  std::vector<double> single, multi;
  for (int r = 0; r < 5; ++r) {
    for (int i = 0; i < iterations / 5; ++i) {
      auto t = bench::clock::now();
      if (!client::send_message(targets[0].address, 33, 0, targets[0].message, 1s)) std::exit(1);
      single.push_back(bench::micros_since(t));
    }
    auto m = time_multi(targets, 1s, iterations / 5, 8);
    multi.insert(multi.end(), m.begin(), m.end());
  }
  auto s1 = bench::summarize(single), s8 = bench::summarize(multi);
  bench::report("scatter_gather_8_nodes", {{"placement", p.name},
                                           {"single_p50_us", bench::fixed(s1.p50_us)},
                                           {"single_p99_us", bench::fixed(s1.p99_us)},
                                           {"multi8_p50_us", bench::fixed(s8.p50_us)},
                                           {"multi8_p99_us", bench::fixed(s8.p99_us)},
                                           {"ratio_p50", bench::fixed(s8.p50_us / s1.p50_us, 2)},
                                           {"target_ratio", "3"}});
  if (!dead_node_figures) return;

  auto with_dead = targets;
  with_dead[3].address = testing::dead_address();
  auto dead = bench::summarize(time_multi(with_dead, 100ms, 200, 7));
  testing::stalled_listener stalled_node;
  auto with_stalled = targets;
  with_stalled[5].address = stalled_node.address();
  const auto timeout = 100ms;
  auto stalled = bench::summarize(time_multi(with_stalled, timeout, 30, 7));
  double timeout_us = duration<double, std::micro>(timeout).count();
  bench::report(
      "scatter_gather_dead_node",
      {{"placement", p.name},
       {"timeout_ms", "100"},
       {"refused_p50_us", bench::fixed(dead.p50_us)},
       {"refused_p99_us", bench::fixed(dead.p99_us)},
       {"stalled_p50_us", bench::fixed(stalled.p50_us)},
       {"stalled_p99_us", bench::fixed(stalled.p99_us)},
       {"stalled_over_timeout_p99_ms", bench::fixed((stalled.p99_us - timeout_us) / 1000, 2)},
       {"target_over_timeout_ms", "5"}});
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 3000;
  run({"same-cpu", 0, 0}, iterations, false);
  run({"split(client=cpu0,nodes=cpu1)", 0, 1}, iterations, false);
  run({"os-scheduled", -1, -1}, iterations, true);
  return 0;
}
