// Benchmark (d) of issue 2: requests per second with 16 concurrent clients (threads, each with
// its kept-alive connection) against a node with 2 workers, next to the same clients against a
// raw epoll echo server with 2 processes (the loopback ceiling), measured in the same run.
// Placement: OS-scheduled over both vCPUs (clients and servers compete, as in production).
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "bench_util.hpp"
#include "brood/client/client.hpp"
#include "node_process.hpp"

using namespace brood;
using namespace std::chrono_literals;

namespace {

constexpr int clients = 16;

template <class Call>
double run_clients(std::chrono::milliseconds duration, Call call) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&] {
      auto state = call.open();
      long n = 0;
      while (!stop) {
        if (!call.once(state)) std::exit(1);
        ++n;
      }
      done += n;
    });
  auto start = bench::clock::now();
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(bench::clock::now() - start).count();
  return static_cast<double>(done.load()) / secs;
}

struct brood_call {
  std::string address;
  wire::value msg{wire::binary{wire::bytes(62, 0x11)}};
  int open() { return 0; }
  bool once(int) {
    auto r = client::send_message(address, 33, 0, msg, 2s);
    if (!r) std::cerr << r.error().message << "\n";
    return bool(r);
  }
};

struct raw_call {
  std::string address;
  std::vector<std::uint8_t> out = std::vector<std::uint8_t>(68, 0x11);
  std::unique_ptr<bench::raw_client> open() { return std::make_unique<bench::raw_client>(address); }
  bool once(std::unique_ptr<bench::raw_client>& c) {
    thread_local std::vector<std::uint8_t> in;
    return c->round_trip(out, in);
  }
};

}  // namespace

int main(int argc, char** argv) {
  auto seconds = std::chrono::milliseconds(argc > 1 ? std::atoi(argv[1]) * 1000 : 5000);
  testing::node_process node(BROOD_PRIMES_NODE, {"--master", "--processes", "2", "--socket",
                                                 "127.0.0.1:0", "--listen", "1024"});
  std::string address = node.wait_bound_address();
  if (address.empty() || !node.wait_ready()) {
    std::cerr << node.all_output();
    return 1;
  }
  bench::raw_echo_server raw(68, -1, 2, /*blocking=*/false);
  run_clients(500ms, brood_call{address});  // warm up
  double b = run_clients(seconds, brood_call{address});
  double r = run_clients(seconds, raw_call{raw.address()});
  bench::report("requests_per_second_16_clients", {{"placement", "os-scheduled(2 vCPUs)"},
                                                   {"workers", "2"},
                                                   {"brood_rps", bench::fixed(b, 0)},
                                                   {"raw_epoll_2proc_rps", bench::fixed(r, 0)},
                                                   {"ratio", bench::fixed(b / r, 2)}});
  return 0;
}
