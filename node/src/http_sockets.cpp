#include "http_sockets.hpp"

#include <algorithm>
#include <vector>

namespace brood::node::detail {
namespace {

std::vector<int>& marked() {
  static std::vector<int> fds;
  return fds;
}

}  // namespace

void mark_http_socket(int fd) { marked().push_back(fd); }

bool is_http_socket(int fd) noexcept {
  const auto& fds = marked();
  return std::find(fds.begin(), fds.end(), fd) != fds.end();
}

}  // namespace brood::node::detail
