// Scatters one prime-counting job over several primes_node processes with send_multi_message,
// prints each node's share, the total and the wall time, then runs the whole range on one node
// and prints the speedup.
//   primes_demo [--range N] [--timeout SECONDS] ADDR...
// Exit status: 0 done and the counts agree, 1 a call failed or the counts differ, 2 bad usage.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "brood/client/client.hpp"
#include "brood/wire/modifier.hpp"
#include "primes.hpp"

namespace {

namespace client = brood::client;
namespace wire = brood::wire;
using clock_type = std::chrono::steady_clock;

struct settings {
  std::uint64_t range = 16'000'000;
  std::chrono::milliseconds timeout{120'000};
  std::vector<std::string> addresses;
};

struct share_answer {
  std::uint64_t count = 0;
  double seconds = 0;
  std::int64_t pid = 0;
};

std::optional<settings> parse_args(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    char* end = nullptr;
    if ((arg == "--range" || arg == "--timeout") && i + 1 < argc) {
      unsigned long long n = std::strtoull(argv[++i], &end, 10);
      if (*end != '\0' || n == 0) return std::nullopt;
      if (arg == "--range") s.range = n;
      if (arg == "--timeout") s.timeout = std::chrono::seconds(n);
    } else if (!arg.empty() && arg[0] != '-') {
      s.addresses.push_back(arg);
    } else {
      return std::nullopt;
    }
  }
  if (s.addresses.empty() || s.range > primes::max_width) return std::nullopt;
  return s;
}

const wire::value* field(const wire::value& answer, const char* key) {
  if (!answer.is<wire::map>()) return nullptr;
  for (const auto& [k, v] : answer.as<wire::map>())
    if (k == wire::value(key)) return &v;
  return nullptr;
}

// Reads {"count", "seconds", "pid"}; nullopt when the answer has another shape.
std::optional<share_answer> read_answer(const wire::value& answer) {
  const wire::value* count = field(answer, "count");
  const wire::value* seconds = field(answer, "seconds");
  const wire::value* pid = field(answer, "pid");
  if (!count || !count->is_integer() || !seconds || !seconds->is<double>() || !pid ||
      !pid->is_integer())
    return std::nullopt;
  return share_answer{static_cast<std::uint64_t>(count->as_int64()), seconds->as<double>(),
                      pid->as_int64()};
}

double since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

constexpr std::uint8_t message_m1 = wire::to_byte(wire::modifier1::message_marshal);
constexpr std::uint8_t count_m2 = static_cast<std::uint8_t>(primes::job::count);

// The scattered run; returns the total, or nullopt when a node failed.
std::optional<std::uint64_t> scatter(const settings& s, double& wall) {
  const std::uint64_t k = s.addresses.size();
  std::vector<client::target> targets;
  for (std::uint64_t i = 0; i < k; ++i)
    targets.push_back({s.addresses[i], wire::array{s.range * i / k, s.range * (i + 1) / k}});
  std::printf("scattering [0, %llu) over %llu nodes\n", (unsigned long long)s.range,
              (unsigned long long)k);
  auto start = clock_type::now();
  auto results = client::send_multi_message(targets, message_m1, count_m2, s.timeout);
  wall = since(start);
  std::uint64_t total = 0;
  bool ok = true;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& range = targets[i].message.as<wire::array>();
    std::string share = "[" + wire::to_string(range[0]) + ", " + wire::to_string(range[1]) + ")";
    std::optional<share_answer> a;
    if (results[i]) a = read_answer(*results[i]);
    if (!a) {
      std::printf("  %-21s %-22s FAILED: %s\n", s.addresses[i].c_str(), share.c_str(),
                  results[i] ? "unexpected answer" : results[i].error().message.c_str());
      ok = false;
      continue;
    }
    std::printf("  %-21s %-22s %9llu primes  %6.3f s  pid %lld\n", s.addresses[i].c_str(),
                share.c_str(), (unsigned long long)a->count, a->seconds, (long long)a->pid);
    total += a->count;
  }
  if (!ok) return std::nullopt;
  std::printf("total: %llu primes below %llu, wall time %.3f s\n", (unsigned long long)total,
              (unsigned long long)s.range, wall);
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  auto s = parse_args(argc, argv);
  if (!s) {
    std::fprintf(stderr,
                 "usage: primes_demo [--range N (at most %llu)] [--timeout SECONDS] ADDR...\n",
                 (unsigned long long)primes::max_width);
    return 2;
  }
  double scatter_wall = 0;
  auto total = scatter(*s, scatter_wall);
  if (!total) return 1;

  auto start = clock_type::now();
  auto one = client::send_message(s->addresses.front(), message_m1, count_m2,
                                  wire::array{std::uint64_t{0}, s->range}, s->timeout);
  double one_wall = since(start);
  std::optional<share_answer> a;
  if (one) a = read_answer(*one);
  if (!a) {
    std::printf("one node: FAILED: %s\n", one ? "unexpected answer" : one.error().message.c_str());
    return 1;
  }
  std::printf("one node (%s): %llu primes, wall time %.3f s\n", s->addresses.front().c_str(),
              (unsigned long long)a->count, one_wall);
  std::printf("speedup with %zu nodes on %u CPU cores: %.2fx\n", s->addresses.size(),
              std::thread::hardware_concurrency(), one_wall / scatter_wall);
  if (a->count != *total) {
    std::printf("MISMATCH: scattered total %llu != one node %llu\n", (unsigned long long)*total,
                (unsigned long long)a->count);
    return 1;
  }
  return 0;
}
