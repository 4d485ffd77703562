#include "brood/os/process_title.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <cstring>
#include <string>

extern char** environ;

namespace brood::os {
namespace {

int saved_argc = 0;
char** saved_argv = nullptr;
char* area_begin = nullptr;
std::size_t area_size = 0;

// The first time a title is set: the room of argv and of the environment strings that follow
// it; those strings move to the heap (`environ` replaced, never freed).
void claim_area() {
  if (area_begin != nullptr || saved_argc < 1 || saved_argv[0] == nullptr) return;
  char** argv = saved_argv;
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < saved_argc; ++i) {
    if (argv[i] == end) end = argv[i] + std::strlen(argv[i]) + 1;
    argv[i] = ::strdup(argv[i]);  // argv[1..] stay readable
  }
  std::size_t count = 0;
  while (environ != nullptr && environ[count] != nullptr) ++count;
  char** copy = new char*[count + 1];
  for (std::size_t i = 0; i < count; ++i) {
    if (environ[i] == end) end = environ[i] + std::strlen(environ[i]) + 1;
    copy[i] = ::strdup(environ[i]);
  }
  copy[count] = nullptr;
  environ = copy;
  area_begin = argv[0];
  area_size = static_cast<std::size_t>(end - argv[0]);
}

}  // namespace

void init_process_title(int argc, char** argv) {
  if (saved_argv != nullptr || argv == nullptr) return;
  saved_argc = argc;
  saved_argv = argv;
}

void set_process_title(std::string_view title) {
  const std::string name(title.substr(0, 15));
  ::prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);
  claim_area();
  if (area_begin == nullptr || area_size < 2) return;
  const std::size_t n = std::min(title.size(), area_size - 1);
  std::memcpy(area_begin, title.data(), n);
  std::memset(area_begin + n, 0, area_size - n);
}

}  // namespace brood::os
