// Benchmarks (a) and (b) of issue 2: send_message round trip, 64-byte msgpack payload, C++ echo
// handler, against a raw TCP ping-pong of the same 68 bytes measured in the same run with the same
// CPU placement. (a) one kept-alive connection; (b) a new connection per call.
// References: (a) a blocking read/write loop; (b) an epoll echo server.
// Placements: same-cpu (client, node and raw server all on CPU 0) and cross-cpu (servers on
// CPU 1, client on CPU 0).
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "bench_util.hpp"
#include "brood/client/client.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"

using namespace brood;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t payload_bytes = 64;  // msgpack bin8 header (2) + 62 bytes
constexpr std::size_t packet_bytes = 4 + payload_bytes;

struct placement {
  const char* name;
  int client_cpu;
  int server_cpu;
};

std::vector<double> brood_keepalive(const std::string& address, int n) {
  wire::value msg(wire::binary{wire::bytes(payload_bytes - 2, 0x5a)});
  std::vector<double> s;
  s.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto t = bench::clock::now();
    auto r = client::send_message(address, 33, 0, msg, 2s);
    s.push_back(bench::micros_since(t));
    if (!r) {
      std::cerr << "brood call failed: " << r.error().message << "\n";
      std::exit(1);
    }
  }
  return s;
}

std::vector<double> brood_new_connection(const std::string& address, int n) {
  auto packet = testing::message_packet(0, wire::value(wire::binary{wire::bytes(62, 0x5a)}));
  std::vector<double> s;
  for (int i = 0; i < n; ++i) {
    auto t = bench::clock::now();
    testing::raw_socket c(address);
    if (!c.send(packet) || !c.read_packet(2s)) std::exit(1);
    c.close();
    s.push_back(bench::micros_since(t));
  }
  return s;
}

std::vector<double> raw_keepalive(bench::raw_client& c, int n) {
  std::vector<std::uint8_t> out(packet_bytes, 0x5a), in;
  std::vector<double> s;
  s.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto t = bench::clock::now();
    if (!c.round_trip(out, in)) std::exit(1);
    s.push_back(bench::micros_since(t));
  }
  return s;
}

std::vector<double> raw_new_connection(const std::string& address, int n) {
  std::vector<std::uint8_t> out(packet_bytes, 0x5a), in;
  std::vector<double> s;
  for (int i = 0; i < n; ++i) {
    auto t = bench::clock::now();
    bench::raw_client c(address);
    if (!c.round_trip(out, in)) std::exit(1);
    s.push_back(bench::micros_since(t));
  }
  return s;
}

void append(std::vector<double>& a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
}

void run(const placement& p, int iterations) {
  testing::node_process node(
      BROOD_PRIMES_NODE, {"--master", "--processes", "1", "--socket", "127.0.0.1:0"}, p.server_cpu);
  std::string address = node.wait_bound_address();
  if (address.empty() || !node.wait_ready()) {
    std::cerr << node.all_output();
    std::exit(1);
  }
  bench::raw_echo_server raw(packet_bytes, p.server_cpu);
  // New connections: an epoll server (no thread or process created per connection).
  bench::raw_echo_server raw_epoll(packet_bytes, p.server_cpu, 1, /*blocking=*/false);
  bench::pin_to_cpu(p.client_cpu);
  bench::raw_client raw_conn(raw.address());

  brood_keepalive(address, 2000);  // warm up both paths
  raw_keepalive(raw_conn, 2000);
  std::vector<double> bk, rk, bn, rn;
  const int rounds = 5;  // interleave rounds so drift hits both sides alike
  for (int r = 0; r < rounds; ++r) {
    append(bk, brood_keepalive(address, iterations / rounds));
    append(rk, raw_keepalive(raw_conn, iterations / rounds));
    append(bn, brood_new_connection(address, iterations / rounds / 4));
    append(rn, raw_new_connection(raw_epoll.address(), iterations / rounds / 4));
  }
  auto b = bench::summarize(bk), r = bench::summarize(rk);
  auto bnew = bench::summarize(bn), rnew = bench::summarize(rn);
  std::string where = std::string("client=cpu") + std::to_string(p.client_cpu) + ",servers=cpu" +
                      std::to_string(p.server_cpu);
  bench::report("send_message_keepalive", {{"placement", p.name},
                                           {"pinning", where},
                                           {"brood_p50_us", bench::fixed(b.p50_us)},
                                           {"brood_p99_us", bench::fixed(b.p99_us)},
                                           {"raw_p50_us", bench::fixed(r.p50_us)},
                                           {"raw_p99_us", bench::fixed(r.p99_us)},
                                           {"ratio_p50", bench::fixed(b.p50_us / r.p50_us, 2)},
                                           {"target_ratio", "1.3"},
                                           {"n", std::to_string(b.n)}});
  bench::report("send_message_new_connection",
                {{"placement", p.name},
                 {"pinning", where},
                 {"brood_p50_us", bench::fixed(bnew.p50_us)},
                 {"brood_p99_us", bench::fixed(bnew.p99_us)},
                 {"raw_p50_us", bench::fixed(rnew.p50_us)},
                 {"raw_p99_us", bench::fixed(rnew.p99_us)},
                 {"ratio_p50", bench::fixed(bnew.p50_us / rnew.p50_us, 2)},
                 {"n", std::to_string(bnew.n)}});
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 20000;
  for (const placement& p : {placement{"same-cpu", 0, 0}, placement{"cross-cpu", 0, 1}})
    run(p, iterations);
  return 0;
}
