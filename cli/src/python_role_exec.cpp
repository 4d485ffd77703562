// The exec Python role (python_role.hpp): `brood` hands a Python node over to `brood-python`.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "brood/os/child_process.hpp"
#include "python_role.hpp"

namespace brood::cli {
namespace {

constexpr const char* python_program = "brood-python";
constexpr const char* bind_now_marker = "BROOD_BIND_NOW";

// DIR/brood-python, DIR being the directory of this program; "" when it cannot be resolved.
std::string python_program_path() {
  const auto self = os::self_exe();
  if (!self) return {};
  return self->substr(0, self->rfind('/') + 1) + python_program;
}

}  // namespace

std::optional<int> hand_over_python(const std::vector<std::string>& args, bool bind_now) {
  const std::string program = python_program_path();
  if (bind_now && ::getenv("LD_BIND_NOW") == nullptr) {
    ::setenv("LD_BIND_NOW", "1", 1);
    ::setenv(bind_now_marker, "1", 1);
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (!program.empty()) ::execv(program.c_str(), argv.data());
  std::cerr << "brood: this node runs Python (module, wsgi-file), which brood hands over to "
            << (program.empty() ? python_program : program)
            << ": cannot run it: " << std::strerror(errno) << "\n";
  return 2;
}

void strip_bind_now() noexcept {}

int run_with_python(const options&, node::router&, const spooler::spool_handler&) {
  std::cerr << "brood: Python runs in brood-python, not in this program\n";
  return 2;
}

fork_base_outcome run_fork_base(const options&, std::function<void()>) {
  std::cerr << "brood: a fork-server base runs in brood-python, not in this program\n";
  return {2, std::nullopt};
}

}  // namespace brood::cli
