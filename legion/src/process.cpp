#include "brood/legion/process.hpp"

#include <atomic>

namespace brood::legion {
namespace {

std::atomic<const members*> the_members{nullptr};
std::atomic<const shared_views*> the_views{nullptr};

}  // namespace

const members* process_members() noexcept { return the_members.load(); }
const shared_views* process_views() noexcept { return the_views.load(); }

void set_process_legion(const members* m, const shared_views* v) noexcept {
  the_members.store(m);
  the_views.store(v);
}

}  // namespace brood::legion
