#include "node_legion.hpp"

#include <string>
#include <vector>

#include "brood/legion/process.hpp"
#include "brood/os/log.hpp"

namespace brood::node {

bool node_legion::start(const legion::config& c) {
  if (c.legions.empty()) return true;
  std::vector<std::string> names;
  for (const legion::legion_config& l : c.legions) names.push_back(l.name);
  if (os::status st =
          legion::shared_views::create(names, c.scroll_max_size, c.scroll_list_max_size, views_);
      !st.ok()) {
    os::log("legion: ", st.message());
    return false;
  }
  std::string error;
  // signal: hooks are logged (brood has no uwsgi signal handlers to raise).
  members_ = legion::members::start(c, legion::member_hooks{}, &views_, error);
  if (!members_) {
    os::log(error);
    return false;
  }
  legion::set_process_legion(members_.get(), &views_);
  return true;
}

node_legion::~node_legion() {
  legion::set_process_legion(nullptr, nullptr);
  members_.reset();
}

}  // namespace brood::node
