#pragma once
// BROOD_TEST_ASAN: 1 in a build under AddressSanitizer (make sanitize: clang 14; gcc defines
// __SANITIZE_ADDRESS__, clang answers __has_feature), else 0.
//
// A test that forks while another thread of its process may be allocating cannot run there: the
// AddressSanitizer allocator of clang 14 is not fork-safe (glibc's malloc is). The child inherits
// an allocator lock held at the fork by a thread it does not have, and its first allocation
// waits forever (seen: every child thread in SizeClassAllocator64::GetFromAllocator; the parent
// had just started a task log's checkpointer thread). Such tests either skip under ASan (the
// Release run keeps them) or join their threads before forking there.
#if defined(__SANITIZE_ADDRESS__)
#define BROOD_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BROOD_TEST_ASAN 1
#endif
#endif
#ifndef BROOD_TEST_ASAN
#define BROOD_TEST_ASAN 0
#endif
