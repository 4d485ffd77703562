#include "spool_name.hpp"

#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ctime>

#include "brood/wire/spool_file.hpp"
#include "process_id.hpp"

namespace brood::spooler {
namespace {

constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15ULL;

std::atomic<std::uint64_t> name_counter{0};
std::atomic<std::uint64_t> rng_state{0};
std::atomic<pid_t> rng_owner{0};  // the pid that seeded rng_state

std::uint64_t splitmix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A non-negative int-sized random number, like uWSGI's rand().
std::uint32_t next_random(pid_t pid) noexcept {
  if (rng_owner.load(std::memory_order_acquire) != pid) {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    const auto seed = splitmix64((static_cast<std::uint64_t>(pid) << 32) ^
                                 static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL ^
                                 static_cast<std::uint64_t>(ts.tv_nsec));
    rng_state.store(seed, std::memory_order_relaxed);
    rng_owner.store(pid, std::memory_order_release);
  }
  const std::uint64_t s = rng_state.fetch_add(golden_gamma, std::memory_order_relaxed);
  return static_cast<std::uint32_t>(splitmix64(s + golden_gamma) >> 33);
}

// gethostname(), with '/' (impossible in a file name) replaced; computed once per process.
const std::string& host_name() {
  static const std::string name = [] {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return std::string("localhost");
    std::string h(buf);
    std::replace(h.begin(), h.end(), '/', '_');
    return h;
  }();
  return name;
}

}  // namespace

std::string next_spool_suffix() { return next_spool_suffix(current_pid()); }

std::string next_spool_suffix(pid_t pid) {
  const std::uint64_t counter = name_counter.fetch_add(1, std::memory_order_relaxed) + 1;
  struct timeval tv {};
  ::gettimeofday(&tv, nullptr);
  std::string s = host_name();
  for (const std::uint64_t part :
       {static_cast<std::uint64_t>(pid), counter, std::uint64_t{next_random(pid)},
        static_cast<std::uint64_t>(tv.tv_sec), static_cast<std::uint64_t>(tv.tv_usec)}) {
    s.push_back('_');
    s.append(std::to_string(part));
  }
  return s;
}

std::string spool_file_name(const std::string& suffix) {
  return std::string(wire::spool_file_prefix).append(suffix);
}

std::string spool_temp_name(const std::string& suffix) {
  return std::string(spool_temp_prefix).append(suffix);
}

}  // namespace brood::spooler
