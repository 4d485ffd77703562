#include "spool_share.hpp"

#include <cstdint>

#include "brood/spooler/spooler.hpp"

namespace brood::spooler {

spool_share spool_share::of_slot(const spooler_board& board, std::size_t slot,
                                 std::chrono::milliseconds steal_after) {
  std::size_t index = 0, count = 0;
  for (std::size_t s = 0; s < board.size(); ++s) {
    if (board.dir(s) != board.dir(slot)) continue;
    if (s < slot) ++index;
    ++count;
  }
  return spool_share(index, count, steal_after);
}

bool spool_share::mine(std::string_view path) const noexcept {
  if (count_ == 1) return true;
  const auto slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bits: the same in every process
  for (const char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h % count_ == index_;
}

spool_share::time_point spool_share::take_at(std::string_view path, time_point due) const noexcept {
  if (mine(path)) return due;
  const auto step = std::chrono::duration_cast<time_point::duration>(steal_after_);
  const time_point at = due + step;
  if (step <= time_point::duration::zero()) return at;
  const auto rem = at.time_since_epoch() % step;
  return rem == time_point::duration::zero() ? at : at + (step - rem);
}

}  // namespace brood::spooler
