// The area of pages written ahead (see fork_server_pages.hpp).
#include "fork_server_pages.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "brood/os/log.hpp"
#include "brood/os/page_map.hpp"

namespace brood::node::written_ahead {
namespace {

constexpr std::size_t max_pages = 16384;  // 64 MB of 4 KB pages

enum : std::uint32_t { empty = 0, recording = 1, recorded = 2 };

struct page_list {
  std::atomic<std::uint32_t> state;
  std::uint32_t count;
  std::uintptr_t pages[max_pages];
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

struct area {
  page_list lists[3];  // by role
};

area* shared = nullptr;  // inherited by every process forked from the base
bool recorder = false;   // this process is an adopted vassal's first worker

page_list& list_of(role r) { return shared->lists[static_cast<int>(r)]; }

// Records this process's pages in `list` unless a process recorded them before.
void record(page_list& list, const char* whose, const char* writers) {
  std::uint32_t expected = empty;
  if (!list.state.compare_exchange_strong(expected, recording, std::memory_order_acq_rel)) return;
  const std::vector<std::uintptr_t> pages = os::exclusive_pages(max_pages);
  std::copy(pages.begin(), pages.end(), list.pages);
  list.count = static_cast<std::uint32_t>(pages.size());
  list.state.store(recorded, std::memory_order_release);
  os::log("fork server: ", pages.size(), " pages of ", whose, " recorded; ", writers,
          " write them ahead");
}

}  // namespace

void open_area() {
  if (shared) return;
  void* at =
      ::mmap(nullptr, sizeof(area), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (at == MAP_FAILED) {
    os::log("fork server: no area for the pages written ahead (", std::strerror(errno),
            "): workers-to-be write none ahead");
    return;
  }
  shared = static_cast<area*>(at);  // zero-filled: state empty
}

void write_ahead_recorded(role r) {
  if (!shared) return;
  const page_list& list = list_of(r);
  if (list.state.load(std::memory_order_acquire) != recorded) return;
  // Any process of the base maps the area: a count past the list is not trusted.
  const std::size_t count = std::min<std::size_t>(list.count, max_pages);
  (void)os::write_ahead(std::span<const std::uintptr_t>(list.pages, count));
}

void close_area() {
  if (shared) ::munmap(shared, sizeof(area));
  shared = nullptr;
  recorder = false;
}

void may_record() { recorder = shared != nullptr; }

void record_once() {
  if (recorder) record(list_of(role::worker), "worker 1", "later workers-to-be");
  close_area();  // a worker has no other use for it
}

void record_master_once() {
  if (shared) record(list_of(role::master), "the master", "later spares");
  close_area();
}

void record_base_once() {
  if (shared && list_of(role::base).state.load(std::memory_order_relaxed) == empty)
    record(list_of(role::base), "the base", "its forks of spares");
}

}  // namespace brood::node::written_ahead
