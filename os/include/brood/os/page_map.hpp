#pragma once
// The pages this process owns alone in its private writable mappings, from /proc/self/maps and
// /proc/self/pagemap, and writing pages ahead (MADV_POPULATE_WRITE): a process forked from a
// large parent (a fork-server base) takes its copy-on-write faults when it writes ahead rather
// than on its way to its first request. Linux only; /proc unreadable means empty results.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace brood::os {

// The start addresses, ascending, of the pages of this process's private writable mappings
// ("rw-p" in /proc/self/maps) that are present and mapped by this process only (pagemap bits
// 63 and 56: written since it was forked, or new), at most `max` of them. Mappings larger than
// 64 GiB (reserved address space, such as a sanitizer's shadow) are not looked at.
std::vector<std::uintptr_t> exclusive_pages(std::size_t max);

// Writes ahead each page of `pages` (page start addresses, ascending) that lies in a private
// writable mapping of this process now: madvise(MADV_POPULATE_WRITE) breaks its copy-on-write
// sharing without changing its contents, then one read maps it for this process's accesses.
// Pages outside such mappings are skipped. Returns how many pages were written ahead; 0 when
// the kernel lacks MADV_POPULATE_WRITE (Linux < 5.14).
std::size_t write_ahead(std::span<const std::uintptr_t> pages);

}  // namespace brood::os
