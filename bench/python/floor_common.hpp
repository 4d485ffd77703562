// What the floor benchmarks' servers (enqueue_floor.cpp, spool_floor8.cpp) share: the error exit,
// the records' CRC-32, and a log segment prepared as brood prepares its own. Header-only, so that
// each floor still builds with one plain c++ call (its driver's).
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

[[noreturn]] inline void floor_die(const char* what) {
  std::fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, std::strerror(errno));
  std::exit(1);
}

inline std::uint32_t floor_crc32(const unsigned char* p, std::size_t n) {
  static std::uint32_t table[256];
  static bool ready = false;
  if (!ready) {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    ready = true;
  }
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// Fills the `size`-byte record at `r`: CRC-32 of the rest (4 bytes), sequence number (8), length
// (4), then the start of `packet`, zero-padded.
inline void floor_record(unsigned char* r, std::size_t size, std::uint64_t seq,
                         const unsigned char* packet, std::size_t n) {
  const std::uint32_t len = static_cast<std::uint32_t>(n < size - 16 ? n : size - 16);
  std::memcpy(r + 4, &seq, 8);
  std::memcpy(r + 12, &len, 4);
  std::memcpy(r + 16, packet, len);
  std::memset(r + 16 + len, 0, size - 16 - len);
  const std::uint32_t c = floor_crc32(r + 4, size - 4);
  std::memcpy(r, &c, 4);
}

// Creates `path` anew, `size` bytes preallocated and fully written, so that no append changes the
// file's size or extents. As brood's segments (spooler/src/log_env_posix.cpp): fallocate, every
// byte written (no unwritten extent left), fsync, and the directory fsynced. The caller opens it.
inline void floor_prepare_segment(const std::string& path, std::size_t size) {
  ::unlink(path.c_str());
  const int w = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (w < 0) floor_die("open segment");
  if (::posix_fallocate(w, 0, static_cast<off_t>(size)) != 0) floor_die("fallocate segment");
  std::vector<char> zeros(64 * 1024, 0);
  for (std::size_t off = 0; off < size; off += zeros.size())
    if (::pwrite(w, zeros.data(), zeros.size(), static_cast<off_t>(off)) !=
        static_cast<ssize_t>(zeros.size()))
      floor_die("fill segment");
  if (::fsync(w) != 0) floor_die("fsync segment");
  ::close(w);
  const std::string parent =
      path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  const int d = ::open(parent.empty() ? "/" : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0 || ::fsync(d) != 0) floor_die("fsync segment's directory");
  ::close(d);
}

// A non-blocking listening TCP socket on HOST, an ephemeral port; prints "listening on HOST:PORT
// NOTE" once it accepts.
inline int floor_listen(const char* host, int backlog, const char* note) {
  const int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ls < 0) floor_die("socket");
  int one = 1;
  ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (::inet_pton(AF_INET, host, &a.sin_addr) != 1) floor_die("address");
  if (::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) floor_die("bind");
  if (::listen(ls, backlog) != 0) floor_die("listen");
  socklen_t al = sizeof a;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &al);
  std::printf("listening on %s:%u %s\n", host, ntohs(a.sin_port), note);
  std::fflush(stdout);
  return ls;
}

// epoll_wait with no timeout, EINTR retried.
inline int floor_wait(int ep, epoll_event* evs, int n) {
  for (;;) {
    const int k = ::epoll_wait(ep, evs, n, -1);
    if (k >= 0) return k;
    if (errno != EINTR) floor_die("epoll_wait");
  }
}
