#include "primes.hpp"

#include <cmath>
#include <vector>

namespace primes {
namespace {

// The odd primes up to `limit` (a plain sieve; limit is at most 65536 here).
std::vector<std::uint32_t> odd_primes_up_to(std::uint32_t limit) {
  std::vector<bool> composite(limit + 1, false);
  std::vector<std::uint32_t> out;
  for (std::uint32_t n = 3; n <= limit; n += 2) {
    if (composite[n]) continue;
    out.push_back(n);
    for (std::uint64_t m = std::uint64_t{n} * n; m <= limit; m += 2 * n) composite[m] = true;
  }
  return out;
}

bool is_odd_prime(std::uint32_t n, const std::vector<std::uint32_t>& divisors) {
  for (std::uint32_t p : divisors) {
    if (std::uint64_t{p} * p > n) return true;
    if (n % p == 0) return false;
  }
  return true;
}

}  // namespace

std::uint64_t count_primes(std::uint64_t lo, std::uint64_t hi) {
  if (hi <= 2 || lo >= hi) return 0;
  auto root = static_cast<std::uint32_t>(std::sqrt(static_cast<double>(hi))) + 1;
  const std::vector<std::uint32_t> divisors = odd_primes_up_to(root);
  std::uint64_t count = lo <= 2 ? 1 : 0;  // 2, the only even prime
  std::uint64_t first = lo <= 3 ? 3 : (lo | 1);
  for (std::uint64_t n = first; n < hi; n += 2)
    if (is_odd_prime(static_cast<std::uint32_t>(n), divisors)) ++count;
  return count;
}

}  // namespace primes
