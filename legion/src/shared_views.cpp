// shared_views: one anonymous MAP_SHARED mapping, made before the node forks, holding one slot per
// legion. A slot is a seqlock: the writer makes the sequence odd, stores the fields, makes it
// even again; a reader copies the fields between two loads of the sequence and retries when
// they differ or the first was odd. Every field is read and written as relaxed 64-bit atomics
// (std::atomic_ref), so a torn copy is never undefined behaviour, only retried.
//
// Mapping layout (all offsets multiples of 8):
//   region_header
//   slot 0: slot_header, name bytes (name_cap), lord scroll bytes (scroll_cap),
//           scrolls bytes (list_cap: [u32 LE length][bytes] per scroll)
//   slot 1: ...
#include "brood/legion/shared_views.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "brood/os/log.hpp"

namespace brood::legion {
namespace {

constexpr std::uint64_t magic = 0x6272'6f6f'644c'6731ULL;  // "broodLg1"
constexpr std::size_t max_name = 256;

std::size_t round8(std::size_t n) { return (n + 7) / 8 * 8; }

struct region_header {
  std::uint64_t magic;
  std::uint64_t count;
  std::uint64_t slot_size;
  std::uint64_t name_cap;
  std::uint64_t scroll_cap;
  std::uint64_t list_cap;
  std::uint64_t scroll_max;  // the configured sizes (the caps above are rounded up to words)
  std::uint64_t list_max;
};

struct slot_header {
  std::uint64_t seq;  // odd: a write is in progress
  std::uint64_t lord;
  std::uint64_t epoch;
  std::uint64_t scroll_len;
  std::uint64_t list_len;
  std::uint64_t name_len;    // fixed at create
  std::uint64_t cut_logged;  // writer only: a cut was logged for this slot
  std::uint64_t reserved;
};
static_assert(sizeof(region_header) % 8 == 0 && sizeof(slot_header) % 8 == 0);

std::uint64_t load(const std::uint64_t& w, std::memory_order o = std::memory_order_relaxed) {
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(w)).load(o);
}
void store(std::uint64_t& w, std::uint64_t v, std::memory_order o = std::memory_order_relaxed) {
  std::atomic_ref<std::uint64_t>(w).store(v, o);
}

// Word-wise relaxed copies; `n` bytes, the area beyond them (up to the next word) may be copied.
void copy_in(std::uint64_t* dst, const char* src, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, src + i, std::min<std::size_t>(8, n - i));
    store(dst[i / 8], w);
  }
}
void copy_out(std::string& dst, const std::uint64_t* src, std::size_t n) {
  dst.resize(round8(n));
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t w = load(src[i / 8]);
    std::memcpy(dst.data() + i, &w, 8);
  }
  dst.resize(n);
}

struct slot_ref {
  slot_header* h;
  std::uint64_t* name;
  std::uint64_t* scroll;
  std::uint64_t* list;
};

slot_ref slot_at(void* base, std::size_t i) {
  auto* r = static_cast<region_header*>(base);
  char* p = static_cast<char*>(base) + sizeof(region_header) + i * r->slot_size;
  slot_ref s;
  s.h = reinterpret_cast<slot_header*>(p);
  p += sizeof(slot_header);
  s.name = reinterpret_cast<std::uint64_t*>(p);
  s.scroll = reinterpret_cast<std::uint64_t*>(p + r->name_cap);
  s.list = reinterpret_cast<std::uint64_t*>(p + r->name_cap + r->scroll_cap);
  return s;
}

std::string slot_name(const slot_ref& s) {
  std::string name;
  copy_out(name, s.name, load(s.h->name_len));
  return name;
}

// The scrolls a worker sees (uWSGI's order: this member's first, then the others it hears;
// empty scrolls left out), packed as [u32 LE length][bytes] within `cap` bytes.
std::string pack_scrolls(const legion_view& v, std::size_t cap, bool& cut) {
  std::string out;
  auto add = [&](const std::string& s) {
    if (s.empty() || cut) return;
    if (out.size() + 4 + s.size() > cap) {
      cut = true;
      return;
    }
    const auto n = static_cast<std::uint32_t>(s.size());
    const char len[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                         static_cast<char>((n >> 16) & 0xff), static_cast<char>(n >> 24)};
    out.append(len, 4);
    out += s;
  };
  add(v.scroll);
  for (const member_view& m : v.members)
    if (m.alive) add(m.scroll);
  return out;
}

std::vector<std::string> unpack_scrolls(const std::string& packed) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i + 4 <= packed.size()) {
    const auto* b = reinterpret_cast<const unsigned char*>(packed.data() + i);
    const std::size_t n = b[0] | (b[1] << 8) | (b[2] << 16) | (std::size_t{b[3]} << 24);
    i += 4;
    if (n > packed.size() - i) break;
    out.push_back(packed.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace

os::status shared_views::create(const std::vector<std::string>& names, std::size_t scroll_max,
                                std::size_t scroll_list_max, shared_views& out) {
  std::size_t name_cap = 8;
  for (const std::string& n : names) {
    if (n.empty() || n.size() > max_name)
      return os::status(std::make_error_code(std::errc::invalid_argument),
                        "legion name '" + n + "' is empty or longer than 256 bytes");
    name_cap = std::max(name_cap, round8(n.size()));
  }
  const std::size_t scroll_cap = round8(std::max<std::size_t>(scroll_max, 8));
  const std::size_t list_cap = round8(std::max<std::size_t>(scroll_list_max, 8));
  const std::size_t slot_size = sizeof(slot_header) + name_cap + scroll_cap + list_cap;
  const std::size_t size = sizeof(region_header) + names.size() * slot_size;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return os::status::last_errno("cannot map " + std::to_string(size) +
                                  " bytes for the legion views");
  auto* r = static_cast<region_header*>(p);  // fresh anonymous pages are zero
  r->magic = magic;
  r->count = names.size();
  r->slot_size = slot_size;
  r->name_cap = name_cap;
  r->scroll_cap = scroll_cap;
  r->list_cap = list_cap;
  r->scroll_max = scroll_max;
  r->list_max = scroll_list_max;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const slot_ref s = slot_at(p, i);
    copy_in(s.name, names[i].data(), names[i].size());
    store(s.h->name_len, names[i].size());
  }
  shared_views made;
  made.base_ = p;
  made.size_ = size;
  out = std::move(made);
  return {};
}

shared_views::shared_views(shared_views&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)), size_(std::exchange(o.size_, 0)) {}

shared_views& shared_views::operator=(shared_views&& o) noexcept {
  if (this != &o) {
    if (base_ != nullptr) ::munmap(base_, size_);
    base_ = std::exchange(o.base_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

shared_views::~shared_views() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

void shared_views::publish(const std::string& name, const legion_view& v) {
  if (base_ == nullptr) return;
  const auto* r = static_cast<const region_header*>(base_);
  for (std::size_t i = 0; i < r->count; ++i) {
    const slot_ref s = slot_at(base_, i);
    if (slot_name(s) != name) continue;
    bool cut = false;
    const std::string list = pack_scrolls(v, r->list_max, cut);
    const bool has_lord = v.i_am_the_lord || !v.lord_uuid.empty();
    std::string scroll = has_lord
                             ? (v.i_am_the_lord && v.lord_scroll.empty() ? v.scroll : v.lord_scroll)
                             : std::string();
    if (scroll.size() > r->scroll_max) {
      scroll.resize(r->scroll_max);
      cut = true;
    }
    if (cut && load(s.h->cut_logged) == 0) {
      store(s.h->cut_logged, 1);
      os::log("legion '", name, "': a scroll longer than legion-scroll-max-size (", r->scroll_max,
              ") or scrolls over legion-scroll-list-max-size (", r->list_max,
              ") were cut for the workers");
    }
    // The seqlock write.
    const std::uint64_t seq = load(s.h->seq);
    store(s.h->seq, seq + 1);
    std::atomic_thread_fence(std::memory_order_release);
    store(s.h->lord, v.i_am_the_lord ? 1 : 0);
    store(s.h->epoch, v.epoch);
    store(s.h->scroll_len, scroll.size());
    copy_in(s.scroll, scroll.data(), scroll.size());
    store(s.h->list_len, list.size());
    copy_in(s.list, list.data(), list.size());
    store(s.h->seq, seq + 2, std::memory_order_release);
    return;
  }
}

std::optional<shared_view> shared_views::read(const std::string& name) const {
  if (base_ == nullptr) return std::nullopt;
  const auto* r = static_cast<const region_header*>(base_);
  for (std::size_t i = 0; i < r->count; ++i) {
    const slot_ref s = slot_at(base_, i);
    if (slot_name(s) != name) continue;
    shared_view out;
    std::string list;
    for (unsigned attempt = 0;; ++attempt) {
      const std::uint64_t before = load(s.h->seq, std::memory_order_acquire);
      if ((before & 1) == 0) {
        out.i_am_the_lord = load(s.h->lord) != 0;
        out.epoch = load(s.h->epoch);
        const std::size_t scroll_len =
            std::min<std::uint64_t>(load(s.h->scroll_len), r->scroll_cap);
        const std::size_t list_len = std::min<std::uint64_t>(load(s.h->list_len), r->list_cap);
        copy_out(out.lord_scroll, s.scroll, scroll_len);
        copy_out(list, s.list, list_len);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (load(s.h->seq) == before) break;
      }
      if (attempt % 64 == 63) std::this_thread::yield();
    }
    out.scrolls = unpack_scrolls(list);
    return out;
  }
  return std::nullopt;
}

std::vector<std::string> shared_views::names() const {
  std::vector<std::string> out;
  if (base_ == nullptr) return out;
  const auto* r = static_cast<const region_header*>(base_);
  for (std::size_t i = 0; i < r->count; ++i) out.push_back(slot_name(slot_at(base_, i)));
  return out;
}

}  // namespace brood::legion
