// exclusive_pages and write_ahead (see page_map.hpp).
#include "brood/os/page_map.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "brood/os/self_maps.hpp"
#include "brood/os/unique_fd.hpp"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace brood::os {
namespace {

struct page_range {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
};

// The private writable mappings of this process, ascending.
std::vector<page_range> private_writable() {
  std::vector<page_range> out;
  for (const self_mapping& m : self_mappings())
    if (std::strcmp(m.perms, "rw-p") == 0) out.push_back({m.begin, m.end});
  return out;
}

constexpr std::uint64_t page_present = 1ull << 63;
constexpr std::uint64_t page_exclusive = 1ull << 56;

}  // namespace

std::vector<std::uintptr_t> exclusive_pages(std::size_t max) {
  std::vector<std::uintptr_t> out;
  const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  unique_fd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pagemap) return out;
  // Read in chunks: a mapping may be far larger than what it holds (a sanitizer's shadow is
  // terabytes of reserved address space); those are skipped whole.
  constexpr std::size_t chunk = 4096;
  constexpr std::uintptr_t largest_mapping = std::uintptr_t{64} << 30;
  std::vector<std::uint64_t> entries(chunk);
  for (const page_range& r : private_writable()) {
    if (r.end - r.begin > largest_mapping) continue;
    const std::size_t count = (r.end - r.begin) / page;
    for (std::size_t first = 0; first < count; first += chunk) {
      const std::size_t want = std::min(chunk, count - first);
      const off_t at = static_cast<off_t>((r.begin / page + first) * sizeof(std::uint64_t));
      const ssize_t n = ::pread(pagemap.get(), entries.data(), want * sizeof(std::uint64_t), at);
      if (n <= 0) break;
      const std::size_t got = static_cast<std::size_t>(n) / sizeof(std::uint64_t);
      for (std::size_t i = 0; i < got; ++i) {
        if ((entries[i] & (page_present | page_exclusive)) != (page_present | page_exclusive))
          continue;
        if (out.size() == max) return out;
        out.push_back(r.begin + (first + i) * page);
      }
    }
  }
  return out;
}

std::size_t write_ahead(std::span<const std::uintptr_t> pages) {
  const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const std::vector<page_range> ranges = private_writable();
  std::size_t written = 0;
  auto range = ranges.begin();
  for (std::size_t i = 0; i < pages.size();) {
    const std::uintptr_t first = pages[i];
    while (range != ranges.end() && range->end <= first) ++range;
    if (range == ranges.end()) break;
    if (first < range->begin) {
      ++i;
      continue;
    }
    // A run of consecutive pages inside this mapping: one madvise.
    std::size_t n = 1;
    while (i + n < pages.size() && pages[i + n] == first + n * page && pages[i + n] < range->end)
      ++n;
    if (::madvise(reinterpret_cast<void*>(first), n * page, MADV_POPULATE_WRITE) != 0) {
      if (errno == EINVAL) return written;  // no MADV_POPULATE_WRITE here
      i += n;                               // ENOMEM, EFAULT...: this run only
      continue;
    }
    for (std::size_t k = 0; k < n; ++k)
      (void)*reinterpret_cast<const volatile unsigned char*>(first + k * page);
    written += n;
    i += n;
  }
  return written;
}

}  // namespace brood::os
