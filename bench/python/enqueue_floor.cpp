// The floor of a remote enqueue (modifier1 17) with one producer (issue 16): a minimal server,
// ONE thread and epoll on a loopback TCP port, doing per task only what a durable spooler must:
// accept, read the uwsgi packet, put a 512-byte checksummed record into a preallocated, fully
// written log segment and commit it, write the task's spool file (open, write, close, no fsync,
// rename into the directory, as brood's files), answer FF 00 00 01 and close.
//
//   enqueue_floor HOST MODE SEGMENT_FILE SPOOL_DIR [after|first|late|nofile]
//
// MODE: none      the record is written, never committed (what uWSGI's durability is)
//       fdatasync pwrite of the record, then fdatasync
//       dsync     the segment opened O_DSYNC: one pwrite returns when the record is durable
//       direct    O_DIRECT|O_DSYNC: the 4 KiB block holding the record rewritten from an aligned
//                 buffer
// after (default): the spool file is written after the commit (the brief's order); first: before
// it (the answer still follows the commit); late: after the answer and the close (the record is
// durable when answered, the file recoverable from it); nofile: no spool file (the commit alone).
// Prints "listening on HOST:PORT" once it accepts. No task runs: the files stay in SPOOL_DIR
// (the driver, enqueue_floor.py, empties it between rounds). Built by enqueue_floor.py.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "floor_common.hpp"

namespace {

constexpr std::size_t segment_size = 16u << 20;
constexpr std::size_t record_size = 512;
constexpr std::size_t block = 4096;

[[noreturn]] void die(const char* what) { floor_die(what); }

enum class mode { none, fdatasync, dsync, direct };

struct log_segment {
  mode m;
  int fd = -1;
  std::uint64_t seq = 0;
  unsigned char* buf = nullptr;  // one aligned block: the segment's current block

  log_segment(const char* path, mode how) : m(how) {
    floor_prepare_segment(path, segment_size);  // preallocated, fully written, synced
    int flags = O_RDWR | O_CLOEXEC;
    if (m == mode::dsync) flags |= O_DSYNC;
    if (m == mode::direct) flags |= O_DIRECT | O_DSYNC;
    fd = ::open(path, flags);
    if (fd < 0) die("open segment for appends");
    if (::posix_memalign(reinterpret_cast<void**>(&buf), block, block) != 0) die("memalign");
    std::memset(buf, 0, block);
  }

  // Appends one record holding (the start of) `packet`; returns once committed (mode none: once
  // written).
  void append(const unsigned char* packet, std::size_t n) {
    const std::uint64_t off = (seq * record_size) % segment_size;
    const std::size_t in_block = off % block;
    if (in_block == 0) std::memset(buf, 0, block);
    unsigned char* r = buf + in_block;
    floor_record(r, record_size, seq, packet, n);
    ++seq;
    if (m == mode::direct) {
      if (::pwrite(fd, buf, block, static_cast<off_t>(off - in_block)) !=
          static_cast<ssize_t>(block))
        die("pwrite direct");
      return;
    }
    if (::pwrite(fd, r, record_size, static_cast<off_t>(off)) != static_cast<ssize_t>(record_size))
      die("pwrite");
    if (m == mode::fdatasync && ::fdatasync(fd) != 0) die("fdatasync");
  }
};

struct conn {
  std::vector<unsigned char> in;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string order = argc == 6 ? argv[5] : "after";
  if ((argc != 5 && argc != 6) ||
      (order != "after" && order != "first" && order != "late" && order != "nofile")) {
    std::fprintf(stderr,
                 "usage: enqueue_floor HOST none|fdatasync|dsync|direct SEGMENT SPOOL_DIR "
                 "[after|first|late|nofile]\n");
    return 2;
  }
  const std::string how = argv[2];
  mode m = how == "none"        ? mode::none
           : how == "fdatasync" ? mode::fdatasync
           : how == "dsync"     ? mode::dsync
           : how == "direct"    ? mode::direct
                                : (std::fprintf(stderr, "enqueue_floor: bad mode %s\n", argv[2]),
                                std::exit(2), mode::none);
  log_segment seg(argv[3], m);
  const std::string dir = argv[4];

  const int ls = floor_listen(argv[1], 128, (std::string("mode ") + argv[2]).c_str());

  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = ls;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  std::unordered_map<int, conn> conns;
  const pid_t pid = ::getpid();
  std::uint64_t n = 0;
  static const unsigned char ack[4] = {0xFF, 0x00, 0x00, 0x01};
  epoll_event evs[64];
  for (;;) {
    const int k = floor_wait(ep, evs, 64);
    for (int i = 0; i < k; ++i) {
      const int fd = evs[i].data.fd;
      if (fd == ls) {
        for (;;) {
          const int c = ::accept4(ls, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          epoll_event ce{};
          ce.events = EPOLLIN;
          ce.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
          conns[c];
        }
        continue;
      }
      conn& cn = conns[fd];
      unsigned char buf[65536];
      bool closed = false;
      for (;;) {
        const ssize_t r = ::read(fd, buf, sizeof buf);
        if (r > 0) {
          cn.in.insert(cn.in.end(), buf, buf + r);
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
        break;
      }
      const std::size_t need =
          cn.in.size() >= 4 ? 4u + (cn.in[1] | (static_cast<std::size_t>(cn.in[2]) << 8)) : 0;
      const bool whole = need && cn.in.size() >= need;
      if (whole && cn.in[0] != 17) {
        closed = true;  // not a remote enqueue
      } else if (whole) {
        if (order != "first") seg.append(cn.in.data(), need);
        const std::string tmp = dir + "/.tmp_floor_" + std::to_string(n);
        const std::string final_name =
            dir + "/uwsgi_spoolfile_on_floor_" + std::to_string(pid) + "_" + std::to_string(n);
        ++n;
        if (order == "late") {
          ::send(fd, ack, sizeof ack, MSG_NOSIGNAL);
          ::close(fd);
        }
        if (order == "nofile") {
          ::send(fd, ack, sizeof ack, MSG_NOSIGNAL);
          ::close(fd);
          conns.erase(fd);
          continue;
        }
        const int f = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (f < 0) die("open spool file");
        if (::write(f, cn.in.data(), need) != static_cast<ssize_t>(need)) die("write spool file");
        ::close(f);
        if (::rename(tmp.c_str(), final_name.c_str()) != 0) die("rename spool file");
        if (order == "first") seg.append(cn.in.data(), need);
        if (order == "late") {
          conns.erase(fd);  // answered and closed before the file was written
          continue;
        }
        ::send(fd, ack, sizeof ack, MSG_NOSIGNAL);
        closed = true;
      }
      if (closed) {
        ::close(fd);  // closing removes it from the epoll set
        conns.erase(fd);
      }
    }
  }
}
