#pragma once
// Page tables of the code a fork server's children run, copied by fork instead of faulted in.
//
// fork() copies a mapping's page table entries only when the mapping has anonymous pages (an
// anon_vma); the read-only file mappings of the executable and its libraries (code, constants)
// have none, so every child faults each page of code it runs back in, although the page is in
// memory and shared (about a third of an adopted vassal's worker's page faults). Writing one
// byte of such a mapping with its own value through /proc/self/mem (as a debugger sets a
// breakpoint) gives it an anon_vma at the price of one private page, its protection unchanged;
// from then on every fork copies its present entries.
// Measured (bench/RESULTS.md, issue 14): an adopted vassal's worker takes ~70 fewer faults on the
// trivial app, ~100 fewer on the numpy app (~1-2 ms of its CPU); its master's fork copies a
// little more.
// Where the kernel refuses writes through /proc/self/mem, the byte is written under a brief
// PROT_WRITE instead, which charges the mapping to the commit limit (and every fork charges it
// again): not done under strict overcommit (vm.overcommit_memory = 2).
#include <cstddef>

namespace brood::node {

struct text_sharing {
  std::size_t mappings = 0;        // read-only private file mappings given an anon_vma
  std::size_t failed = 0;          // left as they were (mprotect refused, e.g. W^X policy)
  bool strict_overcommit = false;  // nothing done (see above)
};

// Does the above for every private, readable, non-writable file mapping of this process
// (/proc/self/maps). Never fails: a mapping that cannot be written is skipped and counted. Pages
// keep their content and mappings stay readable (and executable) throughout, so other threads may
// run meanwhile. Mappings without read permission (guard areas) and anonymous ones are left alone.
text_sharing share_code_page_tables();

}  // namespace brood::node
