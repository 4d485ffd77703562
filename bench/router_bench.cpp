// Issue 17 item 7: brood's router vs uWSGI 2.0.21's fastrouter, in the same run, with the same 4
// uWSGI Python nodes behind both (each node subscribes to both routers) and the same client
// (C threads, one fresh uwsgi connection per request, as a fastrouter closes after each answer).
// Prints requests/s and p50/p99 for each router (runs alternate: brood, uWSGI, brood, uWSGI), the
// time from a new key's first subscription datagram to its first routed request, and the failed
// requests while a node is SIGKILLed under load. Then 4 brood Python nodes (key brood.test,
// subscribe2 keepalive=1) behind brood's router on kept connections, against uWSGI's fastrouter
// with the 4 uWSGI nodes (the ratio), and uWSGI's fastrouter in front of the brood nodes (for the
// record). Placement: OS-scheduled over both vCPUs.
// Usage: router_bench [seconds per run, default 5] [client threads, default 8]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "bench_util.hpp"
#include "brood/wire/header.hpp"
#include "brood/wire/subscription.hpp"
#include "brood/wire/vars.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"

using namespace brood;
using namespace std::chrono_literals;

namespace {

constexpr const char* uwsgi = "/usr/bin/uwsgi";

std::uint16_t free_port(int type) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}
std::string local(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

wire::bytes request_packet(const std::string& host) {
  wire::bytes block, packet;
  std::vector<wire::var> vars = {{"REQUEST_METHOD", "GET"},
                                 {"PATH_INFO", "/"},
                                 {"SERVER_PROTOCOL", "HTTP/1.0"},
                                 {"HTTP_HOST", host}};
  (void)wire::append_vars(block, vars);
  (void)wire::append_packet(packet, 0, 0, block);
  return packet;
}

// One request on a fresh connection; true when an answer with a body came back.
bool one_request(const std::string& router, const wire::bytes& packet) {
  testing::raw_socket s(router);
  if (!s.connected() || !s.send(packet)) return false;
  std::optional<std::string> a = s.read_to_eof(5s);
  return a && a->find("\r\n\r\nok") != std::string::npos;
}

struct load_result {
  double rps = 0;
  bench::stats latency;
  long failed = 0;
};

load_result run_load(const std::string& router, int threads, std::chrono::milliseconds duration,
                     const std::function<void()>& midway = {},
                     const std::string& host = "bench.test") {
  std::atomic<bool> stop{false};
  std::atomic<long> failed{0};
  std::mutex m;
  std::vector<double> all;
  std::vector<std::thread> ts;
  const wire::bytes packet = request_packet(host);
  for (int i = 0; i < threads; ++i)
    ts.emplace_back([&] {
      std::vector<double> mine;
      while (!stop) {
        const auto t = bench::clock::now();
        if (one_request(router, packet))
          mine.push_back(bench::micros_since(t));
        else
          ++failed;
      }
      std::lock_guard lock(m);
      all.insert(all.end(), mine.begin(), mine.end());
    });
  const auto start = bench::clock::now();
  if (midway) {
    std::this_thread::sleep_for(duration / 2);
    midway();
    std::this_thread::sleep_for(duration / 2);
  } else {
    std::this_thread::sleep_for(duration);
  }
  stop = true;
  for (auto& t : ts) t.join();
  const double secs = std::chrono::duration<double>(bench::clock::now() - start).count();
  load_result r;
  r.rps = static_cast<double>(all.size()) / secs;
  r.latency = bench::summarize(std::move(all));
  r.failed = failed;
  return r;
}

void send_datagram(std::uint16_t port, const wire::bytes& d) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::close(fd);
}

// Microseconds from the first subscription datagram of a new key to its first answered request.
double time_to_first_route(std::uint16_t sub_port, const std::string& router,
                           const std::string& node, const std::string& key) {
  wire::subscription s;
  s.key = key;
  s.address = node;
  s.cores = 1;
  wire::bytes d;
  (void)wire::encode_subscription(s, d);
  const wire::bytes packet = request_packet(key);
  const auto t = bench::clock::now();
  send_datagram(sub_port, d);
  while (!one_request(router, packet))
    if (bench::micros_since(t) > 5e6) return -1;
  return bench::micros_since(t);
}

// CPU seconds (user + system) process `pid` used so far.
double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + "/" + b + "/" + c;
}

}  // namespace

int main(int argc, char** argv) {
  if (::access(uwsgi, X_OK) != 0) {
    std::cerr << "router_bench: uwsgi is not installed\n";
    return 0;
  }
  ::signal(SIGPIPE, SIG_IGN);
  const auto run =
      std::chrono::milliseconds(static_cast<long>(1000 * (argc > 1 ? std::atof(argv[1]) : 5)));
  const int threads = argc > 2 ? std::atoi(argv[2]) : 8;
  char dir[] = "/tmp/brood_router_bench_XXXXXX";
  if (!::mkdtemp(dir)) return 1;
  const std::string app = std::string(dir) + "/app.py";
  std::ofstream(app) << "def application(env, start_response):\n"
                        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                        "    return [b'ok']\n";
  std::cout << "# load average before: " << load_average() << "\n";

  const std::uint16_t b_port = free_port(SOCK_STREAM), b_sub = free_port(SOCK_DGRAM);
  const std::uint16_t u_port = free_port(SOCK_STREAM), u_sub = free_port(SOCK_DGRAM);
  testing::node_process brood_router(
      BROOD_BINARY,
      {"--fastrouter", local(b_port), "--fastrouter-subscription-server", local(b_sub)});
  testing::node_process uwsgi_router(
      uwsgi, {"--plugin", "fastrouter", "--master", "--fastrouter", local(u_port),
              "--fastrouter-subscription-server", local(u_sub)});
  std::vector<std::unique_ptr<testing::node_process>> nodes;
  std::vector<std::string> node_addresses;
  for (int i = 0; i < 4; ++i) {
    const std::string addr = local(free_port(SOCK_STREAM));
    node_addresses.push_back(addr);
    nodes.push_back(std::make_unique<testing::node_process>(
        uwsgi, std::vector<std::string>{
                   "--plugin", "python3", "--socket", addr, "--wsgi-file", app, "--disable-logging",
                   "--listen", "1024", "--subscribe2", "server=" + local(b_sub) + ",key=bench.test",
                   "--subscribe2", "server=" + local(u_sub) + ",key=bench.test"}));
  }
  if (!brood_router.wait_for("subscription: bench.test => new node", 4, 20s) ||
      !uwsgi_router.wait_for("bench.test => new node", 4, 20s)) {
    std::cerr << "router_bench: the nodes did not subscribe\n"
              << brood_router.all_output() << uwsgi_router.all_output();
    return 1;
  }
  const std::string b_addr = local(b_port), u_addr = local(u_port);
  auto gateway =
      uwsgi_router.wait_for_line(std::regex(R"(spawned uWSGI fastrouter 1 \(pid: (\d+)\))"));
  const pid_t b_pid = brood_router.pid();
  const pid_t u_pid = gateway ? static_cast<pid_t>(std::stol((*gateway)[1])) : -1;
  run_load(b_addr, threads, 500ms);  // warm up both
  run_load(u_addr, threads, 500ms);
  load_result b[2], u[2];
  double b_cpu[2], u_cpu[2];  // router CPU ms per 1000 requests
  for (int i = 0; i < 2; ++i) {
    double c0 = cpu_seconds(b_pid);
    b[i] = run_load(b_addr, threads, run);
    b_cpu[i] = (cpu_seconds(b_pid) - c0) * 1e6 / static_cast<double>(b[i].latency.n);
    c0 = cpu_seconds(u_pid);
    u[i] = run_load(u_addr, threads, run);
    u_cpu[i] = (cpu_seconds(u_pid) - c0) * 1e6 / static_cast<double>(u[i].latency.n);
  }
  for (int i = 0; i < 2; ++i) {
    bench::report("router_rps", {{"run", std::to_string(i + 1)},
                                 {"threads", std::to_string(threads)},
                                 {"brood_rps", bench::fixed(b[i].rps, 0)},
                                 {"brood", bench::format(b[i].latency)},
                                 {"brood_failed", std::to_string(b[i].failed)},
                                 {"uwsgi_rps", bench::fixed(u[i].rps, 0)},
                                 {"uwsgi", bench::format(u[i].latency)},
                                 {"uwsgi_failed", std::to_string(u[i].failed)},
                                 {"brood_router_cpu_us_per_req", bench::fixed(b_cpu[i])},
                                 {"uwsgi_router_cpu_us_per_req", bench::fixed(u_cpu[i])},
                                 {"ratio", bench::fixed(b[i].rps / u[i].rps, 2)}});
  }

  // 4 brood Python nodes (--master: one worker process serving each), key brood.test, each
  // subscribing with keepalive=1 to both routers (uWSGI's router ignores the key): brood's router
  // keeps its connections to them alive; uWSGI's fastrouter in front of them for the record.
  std::vector<std::unique_ptr<testing::node_process>> brood_nodes;
  for (int i = 0; i < 4; ++i) {
    const std::string addr = local(free_port(SOCK_STREAM));
    brood_nodes.push_back(std::make_unique<testing::node_process>(
        BROOD_BINARY,
        std::vector<std::string>{
            "--master", "--socket", addr, "--wsgi-file", app, "--disable-logging", "--listen",
            "1024", "--subscribe2", "server=" + local(b_sub) + ",key=brood.test,keepalive=1",
            "--subscribe2", "server=" + local(u_sub) + ",key=brood.test,keepalive=1"}));
  }
  if (!brood_router.wait_for("subscription: brood.test => new node", 4, 20s) ||
      !uwsgi_router.wait_for("brood.test => new node", 4, 20s)) {
    std::cerr << "router_bench: the brood nodes did not subscribe\n"
              << brood_router.all_output() << uwsgi_router.all_output();
    return 1;
  }
  run_load(b_addr, threads, 500ms, {}, "brood.test");  // warm up (and fill the pool)
  run_load(u_addr, threads, 500ms, {}, "brood.test");
  for (int i = 0; i < 2; ++i) {
    double c0 = cpu_seconds(b_pid);
    const load_result k = run_load(b_addr, threads, run, {}, "brood.test");
    const double k_cpu = (cpu_seconds(b_pid) - c0) * 1e6 / static_cast<double>(k.latency.n);
    c0 = cpu_seconds(u_pid);
    const load_result ref = run_load(u_addr, threads, run);
    const double ref_cpu = (cpu_seconds(u_pid) - c0) * 1e6 / static_cast<double>(ref.latency.n);
    const load_result ub = run_load(u_addr, threads, run, {}, "brood.test");
    bench::report("router_keepalive_rps",
                  {{"run", std::to_string(i + 1)},
                   {"threads", std::to_string(threads)},
                   {"brood_kept_to_brood_nodes_rps", bench::fixed(k.rps, 0)},
                   {"brood_kept", bench::format(k.latency)},
                   {"brood_kept_failed", std::to_string(k.failed)},
                   {"uwsgi_to_uwsgi_nodes_rps", bench::fixed(ref.rps, 0)},
                   {"uwsgi", bench::format(ref.latency)},
                   {"uwsgi_failed", std::to_string(ref.failed)},
                   {"uwsgi_to_brood_nodes_rps", bench::fixed(ub.rps, 0)},
                   {"uwsgi_brood_nodes", bench::format(ub.latency)},
                   {"brood_router_cpu_us_per_req", bench::fixed(k_cpu)},
                   {"uwsgi_router_cpu_us_per_req", bench::fixed(ref_cpu)},
                   {"ratio", bench::fixed(k.rps / ref.rps, 2)}});
  }
  for (auto& n : brood_nodes) n->kill_all();

  std::vector<double> bt, ut;
  for (int i = 0; i < 20; ++i) {
    bt.push_back(
        time_to_first_route(b_sub, b_addr, node_addresses[0], "new" + std::to_string(i) + ".test"));
    ut.push_back(
        time_to_first_route(u_sub, u_addr, node_addresses[0], "new" + std::to_string(i) + ".test"));
  }
  const bench::stats bs = bench::summarize(bt), us = bench::summarize(ut);
  bench::report("router_first_route",
                {{"brood", bench::format(bs)},
                 {"brood_max_us", bench::fixed(*std::max_element(bt.begin(), bt.end()))},
                 {"uwsgi", bench::format(us)},
                 {"uwsgi_max_us", bench::fixed(*std::max_element(ut.begin(), ut.end()))}});

  // A node SIGKILLed halfway through a run: node 4 under brood's router, node 3 under uWSGI's.
  load_result bk = run_load(b_addr, threads, run, [&] { nodes[3]->kill_all(); });
  load_result uk = run_load(u_addr, threads, run, [&] { nodes[2]->kill_all(); });
  bench::report("router_node_killed", {{"brood_rps", bench::fixed(bk.rps, 0)},
                                       {"brood_failed", std::to_string(bk.failed)},
                                       {"uwsgi_rps", bench::fixed(uk.rps, 0)},
                                       {"uwsgi_failed", std::to_string(uk.failed)}});
  std::cout << "# load average after: " << load_average() << "\n";
  for (auto& n : nodes) n->kill_all();
  brood_router.kill_all();
  uwsgi_router.kill_all();
  std::filesystem::remove_all(dir);
  return 0;
}
