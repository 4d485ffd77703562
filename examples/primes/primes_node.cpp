// A brood node whose C++ handler counts primes: `primes_node --socket 127.0.0.1:0 --master ...`
// takes every option of `brood`. Messages (modifier1 33), by modifier2 (primes::job):
//   17  [lo, hi]  ->  {"count": n, "pid": p, "seconds": s}   primes in [lo, hi)
//    0  anything  ->  the same message back (echo, for benchmarks)
//   98  {"ms": n} ->  sleeps n ms (at most 60 s), then the worker pid (tests)
//   99  anything  ->  the worker pid (tests)
// Anything else, or a malformed range, fails the call with a named error.
// With `--spooler DIR`, its spooler tasks (tests) append the task's "id" var and a newline to the
// file named by its "log" var, sleep "ms" milliseconds if given, and return SPOOL_OK.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "brood/cli/cli.hpp"
#include "brood/node/router.hpp"
#include "brood/spooler/spool.hpp"
#include "primes.hpp"

namespace {

using brood::node::handler_error;
namespace wire = brood::wire;

std::uint64_t range_end(const wire::value& v, const char* which) {
  if (!v.is_integer()) throw handler_error("TypeError", std::string(which) + " must be an integer");
  if (v.is<std::int64_t>() && v.as<std::int64_t>() < 0)
    throw handler_error("ValueError", std::string(which) + " must not be negative");
  return v.is<std::int64_t>() ? static_cast<std::uint64_t>(v.as<std::int64_t>())
                              : v.as<std::uint64_t>();
}

wire::value count_job(const wire::value& message) {
  if (!message.is<wire::array>() || message.as<wire::array>().size() != 2)
    throw handler_error("TypeError", "expected [lo, hi], got " + wire::to_string(message));
  const auto& range = message.as<wire::array>();
  std::uint64_t lo = range_end(range[0], "lo");
  std::uint64_t hi = range_end(range[1], "hi");
  if (lo > hi) throw handler_error("ValueError", "lo > hi in " + wire::to_string(message));
  if (hi > primes::max_hi || hi - lo > primes::max_width)
    throw handler_error("ValueError", "range too big: " + wire::to_string(message) +
                                          " (hi at most " + std::to_string(primes::max_hi) +
                                          ", width at most " + std::to_string(primes::max_width) +
                                          ")");
  auto start = std::chrono::steady_clock::now();
  std::uint64_t count = primes::count_primes(lo, hi);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return wire::map{
      {"count", count}, {"pid", static_cast<std::int64_t>(getpid())}, {"seconds", took.count()}};
}

wire::value sleep_job(const wire::value& message) {
  std::int64_t ms = -1;
  if (message.is<wire::map>())
    for (const auto& [k, v] : message.as<wire::map>())
      if (k == wire::value("ms") && v.is_integer()) ms = v.as_int64();
  if (ms < 0 || ms > 60000) throw handler_error("ValueError", "expected {\"ms\": 0..60000}");
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return static_cast<std::int64_t>(getpid());
}

wire::value handle(const wire::value& message, std::uint8_t modifier2) {
  switch (static_cast<primes::job>(modifier2)) {
    case primes::job::count:
      return count_job(message);
    case primes::job::echo:
      return message;
    case primes::job::sleep:
      return sleep_job(message);
    case primes::job::pid:
      return static_cast<std::int64_t>(getpid());
  }
  throw handler_error("ValueError",
                      "unknown modifier2 " + std::to_string(modifier2) +
                          " (17: count primes in [lo, hi], 0: echo, 98: sleep, 99: pid)");
}

std::string task_var(const brood::spooler::spool_task& task, std::string_view key) {
  for (const auto& [k, v] : task.vars)
    if (k == key) return v;
  return {};
}

// The spooler handler: one O_APPEND write per run, so concurrent runs never interleave a line.
int spool_task(const brood::spooler::spool_task& task) {
  const std::string log = task_var(task, "log");
  if (log.empty()) throw std::runtime_error("the task has no \"log\" var");
  const std::string line = task_var(task, "id") + "\n";
  const int fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log);
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written) throw std::runtime_error("cannot write " + log);
  if (const std::string ms = task_var(task, "ms"); !ms.empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoll(ms)));
  return static_cast<int>(brood::spooler::spool_result::ok);
}

}  // namespace

int main(int argc, char** argv) {
  return brood::cli::run(
      argc, argv, [](brood::node::router& r) { r.on_message(handle); }, spool_task);
}
