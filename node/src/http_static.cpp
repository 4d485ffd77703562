// static-map: resolving a path under a mapped directory and reading the file into a reply.
#include "http_static.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <string>
#include <utility>

#include "brood/os/log.hpp"
#include "http_reply.hpp"

namespace brood::node::detail {
namespace {

// The path with every symbolic link and "..", resolved; empty when it does not exist.
std::string resolve(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return {};
  return buf;
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

// An HTTP-date (IMF-fixdate); -1 when it is not one.
std::time_t parse_http_date(std::string_view text) {
  std::tm tm{};
  const std::string s(text);
  const char* end = ::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr) return -1;
  return ::timegm(&tm);
}

reply text_reply(std::string head, std::string_view body) {
  reply r;
  r.data.reserve(head.size() + body.size());
  r.data.assign(head.begin(), head.end());
  r.data.insert(r.data.end(), body.begin(), body.end());
  return r;
}

// The reply with the file `file` (resolved, inside its directory).
reply file_reply(const std::string& file, std::string_view if_modified_since) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    if (fd >= 0) ::close(fd);
    os::log("static-map: cannot open ", file, ": forbidden");
    return http_error_reply(403, true);
  }
  const std::string modified = http_date(st.st_mtime);
  if (!if_modified_since.empty()) {
    const std::time_t since = parse_http_date(if_modified_since);
    if (since >= 0 && st.st_mtime <= since) {
      ::close(fd);
      return text_reply("HTTP/1.1 304 Not Modified\r\nLast-Modified: " + modified + "\r\n\r\n", {});
    }
  }
  std::string head = "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(mime_type(file)) +
                     "\r\nContent-Length: " + std::to_string(st.st_size) +
                     "\r\nLast-Modified: " + modified + "\r\n\r\n";
  reply r = text_reply(std::move(head), {});
  const std::size_t at = r.data.size();
  r.data.resize(at + static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < static_cast<std::size_t>(st.st_size)) {
    const ssize_t n =
        ::read(fd, r.data.data() + at + got, static_cast<std::size_t>(st.st_size) - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != static_cast<std::size_t>(st.st_size)) {
    os::log("static-map: short read of ", file);
    return http_error_reply(500);
  }
  return r;
}

bool under(const std::string& file, const std::string& dir) {
  return file == dir || (file.size() > dir.size() && file.compare(0, dir.size(), dir) == 0 &&
                         (dir == "/" || file[dir.size()] == '/'));
}

}  // namespace

std::optional<reply> serve_static(const http_config& cfg, std::string_view method,
                                  std::string_view path, std::string_view if_modified_since) {
  if (cfg.static_maps.empty() || (method != "GET" && method != "HEAD")) return std::nullopt;
  for (const static_mapping& m : cfg.static_maps) {
    if (path.substr(0, m.mountpoint.size()) != m.mountpoint) continue;
    const std::string_view rest = m.keep_mountpoint ? path : path.substr(m.mountpoint.size());
    if (!m.keep_mountpoint && !rest.empty() && rest.front() != '/' && m.mountpoint.back() != '/')
      continue;  // "/staticfoo" is not under "/static"
    const std::string wanted = m.dir + "/" + std::string(rest);
    const std::string file = resolve(wanted);
    if (file.empty()) continue;  // no such file: the next mapping, then the application
    const std::string dir = resolve(m.dir);
    if (dir.empty() || !under(file, dir)) {
      os::log("static-map: ", std::string(path), " resolves to ", file, ", outside ", m.dir,
              ": forbidden");
      return http_error_reply(403, true);
    }
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    return file_reply(file, if_modified_since);
  }
  return std::nullopt;
}

std::string_view mime_type(std::string_view name) noexcept {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> types{{
      {".html", "text/html"},        {".htm", "text/html"},
      {".css", "text/css"},          {".js", "application/javascript"},
      {".json", "application/json"}, {".txt", "text/plain"},
      {".xml", "application/xml"},   {".png", "image/png"},
      {".jpg", "image/jpeg"},        {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},         {".svg", "image/svg+xml"},
      {".ico", "image/x-icon"},      {".webp", "image/webp"},
      {".woff", "font/woff"},        {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},          {".pdf", "application/pdf"},
      {".zip", "application/zip"},   {".gz", "application/gzip"},
      {".mp4", "video/mp4"},         {".mp3", "audio/mpeg"},
      {".wasm", "application/wasm"}, {".map", "application/json"},
  }};
  const std::size_t dot = name.rfind('.');
  const std::size_t slash = name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  const std::string_view ext = name.substr(dot);
  for (const auto& [e, type] : types)
    if (ext == e) return type;
  return "application/octet-stream";
}

}  // namespace brood::node::detail
