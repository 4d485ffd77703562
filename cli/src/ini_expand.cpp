#include "ini_expand.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "config_logic.hpp"
#include "option_values.hpp"

#ifndef BROOD_VERSION
#define BROOD_VERSION "unknown"
#endif

namespace brood::cli {
namespace {

namespace fs = std::filesystem;

// uWSGI's %j: the djb33x (xor) hash of the absolute path, its bytes printed lowest first.
std::string path_hash(const std::string& path) {
  std::uint32_t h = 5381;
  for (unsigned char c : path) h = (h * 33) ^ c;
  char out[9];
  std::snprintf(out, sizeof out, "%02X%02X%02X%02X", h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff,
                (h >> 24) & 0xff);
  return out;
}

std::string user_name(uid_t uid) {
  const passwd* p = ::getpwuid(uid);
  return p ? p->pw_name : std::to_string(uid);
}

std::string group_name(gid_t gid) {
  const group* g = ::getgrgid(gid);
  return g ? g->gr_name : std::to_string(gid);
}

std::string magic_value(char letter, const magic_context& m) {
  using namespace std::chrono;
  switch (letter) {
    case 'o':
    case 'O':
      return m.given;
    case 'p':
      return m.absolute;
    case 'd':
      return m.dir;
    case 's':
      return m.file_name;
    case 'n':
      return m.stem;
    case 'e':
      return m.extension;
    case 'c':
      return m.last_dir;
    case 'i':
      return m.inode;
    case 'j':
      return m.hash;
    case 'v':
      return fs::current_path().string();
    case 'h':
      return host_name();
    case 'k':
      return std::to_string(std::thread::hardware_concurrency());
    case 'u':
      return std::to_string(::getuid());
    case 'U':
      return user_name(::getuid());
    case 'g':
      return std::to_string(::getgid());
    case 'G':
      return group_name(::getgid());
    case 'V':
      return BROOD_VERSION;
    case 't':
      return std::to_string(duration_cast<seconds>(system_clock::now().time_since_epoch()).count());
    case 'T':
      return std::to_string(
          duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
    default:
      if (letter >= '0' && letter <= '9') {
        std::size_t i = static_cast<std::size_t>(letter - '0');
        return i < m.components.size() ? m.components[i] : std::string();
      }
      return {};  // %x, %X and unknown letters: nothing, as in uWSGI 2.0
  }
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw option_error("cannot read '" + path + "' of @(" + path + "): " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

const std::string* find_environment(const std::vector<std::string>& environment,
                                    std::string_view name, std::string& storage) {
  for (const std::string& kv : environment) {
    if (kv.size() > name.size() && kv[name.size()] == '=' &&
        kv.compare(0, name.size(), name) == 0) {
      storage = kv.substr(name.size() + 1);
      return &storage;
    }
  }
  return nullptr;
}

magic_context magic_for_file(const std::string& path) {
  magic_context m;
  m.given = path;
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec).lexically_normal();
  m.absolute = abs.string();
  m.dir = abs.parent_path().string();
  if (m.dir.empty() || m.dir.back() != '/') m.dir += '/';
  m.file_name = abs.filename().string();
  m.stem = abs.stem().string();
  std::string ext = abs.extension().string();
  m.extension = ext.empty() ? ext : ext.substr(1);
  m.last_dir = abs.parent_path().filename().string();
  for (const auto& part : abs.parent_path().relative_path()) m.components.push_back(part.string());
  struct stat st {};
  if (::stat(m.absolute.c_str(), &st) == 0) m.inode = std::to_string(st.st_ino);
  m.hash = path_hash(m.absolute);
  return m;
}

std::string expand_magic(std::string_view value, const magic_context& magic) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c != '%' || i + 1 == value.size() || value[i + 1] == '(') {
      out += c;
    } else if (value[i + 1] == '%') {
      out += '%';
      ++i;
    } else {
      out += magic_value(value[++i], magic);
    }
  }
  return out;
}

std::string expand_references(std::string_view value, const std::vector<std::string>& environment) {
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    char c = value[i];
    std::size_t close = std::string_view::npos;
    if ((c == '$' || c == '@') && i + 1 < value.size() && value[i + 1] == '(')
      close = value.find(')', i + 2);
    if (close == std::string_view::npos) {
      out += c;
      ++i;
      continue;
    }
    std::string name(value.substr(i + 2, close - i - 2));
    std::string storage;
    if (c == '@') {
      out += read_whole_file(name);
    } else if (const std::string* v = find_environment(environment, name, storage)) {
      out += *v;
    } else {
      out += value.substr(i, close - i + 1);  // unset: kept as written (uWSGI)
    }
    i = close + 1;
  }
  return out;
}

}  // namespace brood::cli
