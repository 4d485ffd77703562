// self_mappings (see self_maps.hpp).
#include "brood/os/self_maps.hpp"

#include <cstdio>
#include <cstring>

namespace brood::os {

std::vector<self_mapping> self_mappings() {
  std::vector<self_mapping> out;
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (!maps) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, maps)) {
    unsigned long begin = 0, end = 0, offset = 0, inode = 0;
    char dev[16] = {};
    int path_at = 0;
    self_mapping m;
    if (std::sscanf(line, "%lx-%lx %4s %lx %15s %lu %n", &begin, &end, m.perms, &offset, dev,
                    &inode, &path_at) >= 6 &&
        begin < end) {
      m.begin = begin;
      m.end = end;
      m.file = inode != 0 && line[path_at] == '/';
      out.push_back(m);
    }
    if (!std::strchr(line, '\n'))  // a path longer than the buffer: skip the rest of the line
      for (int c = std::fgetc(maps); c != EOF && c != '\n'; c = std::fgetc(maps)) {
      }
  }
  std::fclose(maps);
  return out;
}

}  // namespace brood::os
