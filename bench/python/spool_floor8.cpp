// The floor of the server side's CPU per task for issue 16's eight-producer benchmark: the
// smallest implementation of what the issue requires per task, as two processes.
//
//   spool_floor8 server HOST SEGMENT SPOOL_DIR POOL_DIR pool|create|tcp
//   spool_floor8 spooler SPOOL_DIR POOL_DIR pool|create
//
// server: ONE thread, epoll; accept4 every pending connection, read each uwsgi packet (modifier1
//   17); after each epoll_wait's ready set is drained, the batch's 512-byte checksummed records
//   are written with one pwrite into a preallocated, fully written log segment and ONE fdatasync
//   commits them all (group commit: the connections arriving meanwhile queue in the kernel and
//   form the next batch); then every connection of the batch gets FF 00 00 01 and is closed; then
//   every task's spool file is written without fsync:
//     pool:   a pooled, already allocated file of POOL_DIR (the spooler renames done files there;
//             listed with readdir when the server's list runs empty) opened, pwrite of the packet
//             at offset 0, closed, renamed into SPOOL_DIR (the file's 4-byte uwsgi header gives
//             the packet's length; the pool file's tail past it is left as it was);
//             a fresh file as in create when the pool is empty;
//     create: open(O_CREAT|O_EXCL) of a temp name in SPOOL_DIR, write, close, rename;
//     tcp:    no record, no commit, no file, no spooler: the server runs the task itself after
//             the answer (the TCP part's and the task's cost alone: no durability, no file).
// spooler: inotify on SPOOL_DIR (IN_MOVED_TO); per file: openat, OFD write lock (F_OFD_SETLK),
//   read, the task run in C (spool_task.py's: one line "ID START_NS", CLOCK_MONOTONIC, appended to
//   the file named by its `report` var), then renamed into POOL_DIR (pool) or unlinked
//   (create), closed.
// Both print "listening on ..." / "watching ..." once ready; the server prints "tasks N commits C
// created F" every 1,000 tasks. Built and driven by spool_floor8.py.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "floor_common.hpp"

namespace {

constexpr std::size_t segment_size = 16u << 20;
constexpr std::size_t record_size = 512;
constexpr std::size_t pool_files = 1024;
constexpr std::size_t pool_file_size = 512;

[[noreturn]] void die(const char* what) { floor_die(what); }

// The task log: one preallocated, fully written segment (floor_prepare_segment).
struct log_segment {
  int fd = -1;
  std::uint64_t seq = 0;
  std::vector<unsigned char> batch;

  explicit log_segment(const std::string& path) {
    floor_prepare_segment(path, segment_size);  // preallocated, fully written, synced
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) die("open segment");
  }

  // Adds one record (the start of `packet`) to the batch.
  void add(const unsigned char* packet, std::size_t n) {
    const std::size_t at = batch.size();
    batch.resize(at + record_size);
    floor_record(batch.data() + at, record_size, seq + at / record_size, packet, n);
  }

  // Writes the batch (one pwrite, two at the segment's end) and commits it with one fdatasync.
  void commit() {
    std::size_t done = 0;
    while (done < batch.size()) {
      const std::size_t off = ((seq * record_size) + done) % segment_size;
      std::size_t n = batch.size() - done;
      if (off + n > segment_size) n = segment_size - off;
      if (::pwrite(fd, batch.data() + done, n, static_cast<off_t>(off)) != static_cast<ssize_t>(n))
        die("pwrite record");
      done += n;
    }
    if (::fdatasync(fd) != 0) die("fdatasync");
    seq += batch.size() / record_size;
    batch.clear();
  }
};

// FLOOR_SHARED=1 with FLOOR_SERVERS=N: the N servers append to ONE segment and group-commit it
// together (PostgreSQL's WAL flush, LevelDB's writer queue): appends in order under a short lock,
// then whoever finds its records not yet synced takes the flush lock and syncs everything written
// so far; a server whose records a flush already covered does not sync. No hand-off to a log
// process. (A floor: a server dying inside a lock is not handled.)
struct shared_log {
  pthread_mutex_t append, flush;
  std::uint64_t written_end;  // bytes appended (under `append`)
  std::uint64_t synced_end;   // bytes covered by a completed fdatasync (under `flush`)

  static shared_log* create() {
    void* m = ::mmap(nullptr, sizeof(shared_log), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) die("mmap");
    auto* sh = new (m) shared_log{};
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&sh->append, &a);
    pthread_mutex_init(&sh->flush, &a);
    return sh;
  }

  // Appends `seg`'s batch and returns once a sync covers it; true if this call synced.
  bool commit(log_segment& seg) {
    pthread_mutex_lock(&append);
    const std::uint64_t at = written_end;
    std::size_t done = 0;
    while (done < seg.batch.size()) {
      const std::size_t off = (at + done) % segment_size;
      std::size_t n = seg.batch.size() - done;
      if (off + n > segment_size) n = segment_size - off;
      if (::pwrite(seg.fd, seg.batch.data() + done, n, static_cast<off_t>(off)) !=
          static_cast<ssize_t>(n))
        die("pwrite record");
      done += n;
    }
    const std::uint64_t mine = at + done;
    __atomic_store_n(&written_end, mine, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&append);
    seg.seq += seg.batch.size() / record_size;
    seg.batch.clear();
    pthread_mutex_lock(&flush);
    const bool sync = synced_end < mine;
    if (sync) {
      const std::uint64_t target = __atomic_load_n(&written_end, __ATOMIC_ACQUIRE);
      if (::fdatasync(seg.fd) != 0) die("fdatasync");
      synced_end = target;
    }
    pthread_mutex_unlock(&flush);
    return sync;
  }
};

struct conn {
  int fd;
  std::vector<unsigned char> in;
};

// The value of `key` in a uwsgi vars block (after the 4-byte header), empty if absent.
std::string_view var(const unsigned char* p, std::size_t n, std::string_view key) {
  std::size_t i = 4;
  while (i + 2 <= n) {
    const std::size_t kl = p[i] | (static_cast<std::size_t>(p[i + 1]) << 8);
    if (i + 2 + kl + 2 > n) break;
    const std::string_view k(reinterpret_cast<const char*>(p + i + 2), kl);
    const std::size_t vl = p[i + 2 + kl] | (static_cast<std::size_t>(p[i + 3 + kl]) << 8);
    if (i + 4 + kl + vl > n) break;
    if (k == key) return {reinterpret_cast<const char*>(p + i + 4 + kl), vl};
    i += 4 + kl + vl;
  }
  return {};
}

// spool_task.py's task: "ID START_NS" (CLOCK_MONOTONIC) as one line appended to the file
// named by `report` (start_report.py; the file is kept open while the name stays the same).
void run_task(const unsigned char* file, std::size_t n) {
  static std::string open_path;
  static int open_fd = -1;
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::string_view id = var(file, n, "id"), report = var(file, n, "report");
  char msg[256];
  const int ml = std::snprintf(msg, sizeof msg, "%.*s %lld\n", static_cast<int>(id.size()),
                               id.data(), ts.tv_sec * 1000000000LL + ts.tv_nsec);
  if (report.empty() || ml <= 0 || ml >= static_cast<int>(sizeof msg)) return;
  if (open_fd < 0 || report != open_path) {
    if (open_fd >= 0) ::close(open_fd);
    open_path = std::string(report);
    open_fd = ::open(open_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (open_fd < 0) return;
  }
  (void)!::write(open_fd, msg, static_cast<std::size_t>(ml));
}

int server(const char* host, const std::string& segment, const std::string& dir,
           const std::string& pool, const std::string& method) {
  const bool pooled = method == "pool", tcp = method == "tcp";
  // FLOOR_SERVERS=N: N server processes (forked after the listen) accept from the one listening
  // socket, each with its own segment (SEGMENT, SEGMENT.1, ...) and commits, as N node workers
  // that each commit their own log would; a pooled file is then claimed by renaming it (two
  // servers may list the same one). The "tasks N commits C" lines are then each server's own.
  const char* servers_env = std::getenv("FLOOR_SERVERS");
  const int servers = servers_env ? std::max(1, std::atoi(servers_env)) : 1;
  const char* shared_env = std::getenv("FLOOR_SHARED");
  shared_log* const shared =
      servers > 1 && shared_env && std::string(shared_env) == "1" ? shared_log::create() : nullptr;
  std::vector<std::unique_ptr<log_segment>> segments;
  for (int i = 0; i < (shared ? 1 : servers); ++i)
    segments.push_back(
        std::make_unique<log_segment>(i ? segment + "." + std::to_string(i) : segment));
  if (pooled) {  // the pool: already allocated, already written files
    std::vector<char> zeros(pool_file_size, 0);
    for (std::size_t i = 0; i < pool_files; ++i) {
      const std::string p = pool + "/init_" + std::to_string(i);
      const int f = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
      if (f < 0 || ::write(f, zeros.data(), zeros.size()) != static_cast<ssize_t>(zeros.size()))
        die("pool file");
      ::close(f);
    }
    ::sync();
  }
  std::vector<std::string> free_names;
  const int ls = floor_listen(host, 1024, method.c_str());
  int index = 0;  // this server's
  for (int i = 1; i < servers && index == 0; ++i) {
    const pid_t child = ::fork();
    if (child < 0) die("fork");
    if (child == 0) index = i;
  }
  log_segment& seg = *segments[shared ? 0u : static_cast<std::size_t>(index)];
  // Lists the pool's names (server 1 takes them from the other end than server 0).
  auto list_pool = [&] {
    DIR* d = ::opendir(pool.c_str());
    if (!d) die("opendir pool");
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') free_names.emplace_back(e->d_name);
    ::closedir(d);
    if (index % 2) std::reverse(free_names.begin(), free_names.end());
  };

  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN | (servers > 1 ? static_cast<std::uint32_t>(EPOLLEXCLUSIVE) : 0u);
  ev.data.ptr = nullptr;  // the listener
  ::epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  const std::string pid = std::to_string(::getpid());
  std::uint64_t n = 0, commits = 0, created = 0;
  static const unsigned char ack[4] = {0xFF, 0x00, 0x00, 0x01};
  std::vector<conn*> ready;  // whole packets of this batch
  epoll_event evs[256];
  unsigned char buf[65536];
  for (;;) {
    const int k = floor_wait(ep, evs, 256);
    for (int i = 0; i < k; ++i) {
      if (evs[i].data.ptr == nullptr) {
        for (;;) {
          const int c = ::accept4(ls, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          auto* cn = new conn{c, {}};
          epoll_event ce{};
          ce.events = EPOLLIN;
          ce.data.ptr = cn;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        }
        continue;
      }
      auto* cn = static_cast<conn*>(evs[i].data.ptr);
      bool closed = false;
      for (;;) {
        const ssize_t r = ::read(cn->fd, buf, sizeof buf);
        if (r > 0) {
          cn->in.insert(cn->in.end(), buf, buf + r);
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
        break;
      }
      const std::size_t need =
          cn->in.size() >= 4 ? 4u + (cn->in[1] | (static_cast<std::size_t>(cn->in[2]) << 8)) : 0;
      if (need && cn->in.size() >= need && cn->in[0] == 17) {
        if (!tcp) seg.add(cn->in.data(), need);
        ready.push_back(cn);
      } else if (closed || (need && cn->in.size() >= need)) {
        ::close(cn->fd);  // closing removes it from the epoll set
        delete cn;
      }
    }
    if (ready.empty()) continue;
    if (!tcp) {
      if (!shared) seg.commit();
      if (!shared || shared->commit(seg)) ++commits;
    }
    for (conn* cn : ready) {
      ::send(cn->fd, ack, sizeof ack, MSG_NOSIGNAL);
      ::close(cn->fd);
    }
    if (tcp) {  // no log, no file: the task run here, the TCP part's and the task's cost alone
      for (conn* cn : ready) {
        run_task(cn->in.data(), cn->in.size());
        delete cn;
      }
      ready.clear();
      continue;
    }
    for (conn* cn : ready) {
      const std::size_t need = 4u + (cn->in[1] | (static_cast<std::size_t>(cn->in[2]) << 8));
      const std::string final_name =
          dir + "/uwsgi_spoolfile_on_floor_" + pid + "_" + std::to_string(n);
      const std::string tmp = dir + "/.tmp_floor_" + pid + "_" + std::to_string(n);
      std::string from;  // a pooled file's name (claimed by a rename when several servers run)
      while (pooled && from.empty()) {
        if (free_names.empty()) list_pool();  // refill the list from the pool dir
        if (free_names.empty()) break;        // the pool is empty: a fresh file
        const std::string name = pool + "/" + free_names.back();
        free_names.pop_back();
        if (servers == 1)
          from = name;
        else if (::rename(name.c_str(), tmp.c_str()) == 0)
          from = tmp;
        else if (errno != ENOENT)  // ENOENT: another server took it
          die("claim pool file");
      }
      int f;
      if (!from.empty()) {
        f = ::open(from.c_str(), O_WRONLY | O_CLOEXEC);
        if (f < 0) die("open pool file");
        if (::pwrite(f, cn->in.data(), need, 0) != static_cast<ssize_t>(need)) die("pwrite");
      } else {
        from = tmp;
        f = ::open(from.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (f < 0) die("open spool file");
        if (::write(f, cn->in.data(), need) != static_cast<ssize_t>(need)) die("write");
        ++created;
      }
      ::close(f);
      if (::rename(from.c_str(), final_name.c_str()) != 0) die("rename into the spool dir");
      ++n;
      if (n % 1000 == 0) {
        std::printf("tasks %llu commits %llu created %llu\n", static_cast<unsigned long long>(n),
                    static_cast<unsigned long long>(commits),
                    static_cast<unsigned long long>(created));
        std::fflush(stdout);
      }
      delete cn;
    }
    ready.clear();
  }
}

int spooler(const std::string& dir, const std::string& pool, bool pooled) {
  const int in = ::inotify_init1(IN_CLOEXEC);
  if (in < 0 || ::inotify_add_watch(in, dir.c_str(), IN_MOVED_TO) < 0) die("inotify");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int pfd = ::open(pool.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || pfd < 0) die("open dirs");
  std::printf("watching %s\n", dir.c_str());
  std::fflush(stdout);
  alignas(inotify_event) char events[64 * 1024];
  unsigned char file[65536];
  for (;;) {
    const ssize_t len = ::read(in, events, sizeof events);
    if (len <= 0) {
      if (len < 0 && errno == EINTR) continue;
      die("read inotify");
    }
    for (ssize_t off = 0; off < len;) {
      const auto* e = reinterpret_cast<const inotify_event*>(events + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      if (e->len == 0 || std::strncmp(e->name, "uwsgi_spoolfile_", 16) != 0) continue;
      const int f = ::openat(dfd, e->name, O_RDWR | O_CLOEXEC);
      if (f < 0) continue;  // taken already
      struct flock lk {};
      lk.l_type = F_WRLCK;
      lk.l_whence = SEEK_SET;
      if (::fcntl(f, F_OFD_SETLK, &lk) != 0) {
        ::close(f);
        continue;
      }
      const ssize_t r = ::read(f, file, sizeof file);
      if (r < 4) die("read spool file");
      const std::size_t need = 4u + (file[1] | (static_cast<std::size_t>(file[2]) << 8));
      const std::size_t n = need < static_cast<std::size_t>(r) ? need : r;
      run_task(file, n);
      if (pooled ? ::renameat(dfd, e->name, pfd, e->name) : ::unlinkat(dfd, e->name, 0))
        die("retire spool file");
      ::close(f);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string role = argc > 1 ? argv[1] : "";
  if (role == "server" && argc == 7) return server(argv[2], argv[3], argv[4], argv[5], argv[6]);
  if (role == "spooler" && argc == 5)
    return spooler(argv[2], argv[3], std::string(argv[4]) == "pool");
  std::fprintf(stderr,
               "usage: spool_floor8 server HOST SEGMENT SPOOL_DIR POOL_DIR pool|create|tcp\n"
               "       spool_floor8 spooler SPOOL_DIR POOL_DIR pool|create\n");
  return 2;
}
