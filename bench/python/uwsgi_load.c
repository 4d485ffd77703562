// uwsgi_load: a lean load client for WSGI nodes over the uwsgi protocol (modifier1 0), the same
// client for brood and for real uWSGI. One thread, epoll, CONNECTIONS concurrent connections; each
// connection sends one GET request (the vars nginx's uwsgi_params would send), reads the raw HTTP
// reply until the server closes, checks its status line and starts again on a new connection
// (uwsgi over a stream has no keep-alive: the reply ends at EOF).
//
//   uwsgi_load HOST:PORT CONNECTIONS SECONDS
//
// Prints one line: "requests=N seconds=S rps=R p50_us=X p99_us=Y errors=E". Exit status 0 when
// every reply was "HTTP/1.1 200", 1 otherwise. Built by bench/python/run_all.sh (cc -O2).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { max_connections = 1024, request_max = 512, reply_max = 4096 };

struct slot {
  int fd;
  double started;  // monotonic seconds at connect()
  size_t sent;     // request bytes written so far
  size_t got;      // reply bytes kept (the first reply_max)
  char reply[reply_max];
};

static unsigned char request[request_max];
static size_t request_len;
static struct sockaddr_in target;
static double* samples;
static size_t samples_len, samples_cap;
static long errors;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Appends one vars record: u16 LE key length, key, u16 LE value length, value.
static void add_var(size_t* at, const char* key, const char* value) {
  size_t k = strlen(key), v = strlen(value);
  unsigned char* p = request + *at;
  p[0] = k & 0xff, p[1] = k >> 8;
  memcpy(p + 2, key, k);
  p[2 + k] = v & 0xff, p[3 + k] = v >> 8;
  memcpy(p + 4 + k, value, v);
  *at += 4 + k + v;
}

static void build_request(void) {
  size_t at = 4;
  add_var(&at, "REQUEST_METHOD", "GET");
  add_var(&at, "REQUEST_URI", "/");
  add_var(&at, "PATH_INFO", "/");
  add_var(&at, "QUERY_STRING", "");
  add_var(&at, "SERVER_PROTOCOL", "HTTP/1.1");
  add_var(&at, "SERVER_NAME", "localhost");
  add_var(&at, "SERVER_PORT", "80");
  add_var(&at, "REMOTE_ADDR", "127.0.0.1");
  add_var(&at, "HTTP_HOST", "localhost");
  size_t size = at - 4;
  request[0] = 0;  // modifier1 0: a WSGI request
  request[1] = size & 0xff, request[2] = size >> 8;
  request[3] = 0;
  request_len = at;
}

static void record(double us) {
  if (samples_len == samples_cap) {
    samples_cap = samples_cap ? samples_cap * 2 : 65536;
    samples = realloc(samples, samples_cap * sizeof(double));
    if (!samples) exit(2);
  }
  samples[samples_len++] = us;
}

// Starts a request on s: a non-blocking connect, watched for writability.
static void start(int ep, struct slot* s) {
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (s->fd < 0) {
    perror("socket");
    exit(2);
  }
  s->started = now();
  s->sent = s->got = 0;
  if (connect(s->fd, (struct sockaddr*)&target, sizeof target) < 0 && errno != EINPROGRESS) {
    perror("connect");
    exit(2);
  }
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = s};
  epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
}

// Ends the request on s (ok: the reply is complete) and closes its connection.
static void finish(struct slot* s, int ok) {
  if (ok && s->got >= 12 && memcmp(s->reply, "HTTP/1.1 200", 12) == 0)
    record((now() - s->started) * 1e6);
  else
    ++errors;
  close(s->fd);
  s->fd = -1;
}

// Handles readiness of s. Returns 1 when the request ended (the slot is free again).
static int step(int ep, struct slot* s, uint32_t events) {
  if (s->sent < request_len) {
    if (events & (EPOLLERR | EPOLLHUP)) return finish(s, 0), 1;
    ssize_t n = write(s->fd, request + s->sent, request_len - s->sent);
    if (n < 0) return errno == EAGAIN ? 0 : (finish(s, 0), 1);
    s->sent += n;
    if (s->sent == request_len) {
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
      epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
    }
    return 0;
  }
  char buf[16384];
  for (;;) {
    ssize_t n = read(s->fd, buf, sizeof buf);
    if (n == 0) return finish(s, 1), 1;
    if (n < 0) return errno == EAGAIN ? 0 : (finish(s, 0), 1);
    size_t keep = (size_t)n < reply_max - s->got ? (size_t)n : reply_max - s->got;
    memcpy(s->reply + s->got, buf, keep);
    s->got += keep;
  }
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static int parse_target(const char* address) {
  char host[64];
  const char* colon = strrchr(address, ':');
  if (!colon || (size_t)(colon - address) >= sizeof host) return 0;
  memcpy(host, address, colon - address);
  host[colon - address] = 0;
  target.sin_family = AF_INET;
  target.sin_port = htons(atoi(colon + 1));
  return inet_pton(AF_INET, host, &target.sin_addr) == 1;
}

int main(int argc, char** argv) {
  int connections = argc == 4 ? atoi(argv[2]) : 0;
  double seconds = argc == 4 ? atof(argv[3]) : 0;
  if (connections < 1 || connections > max_connections || seconds <= 0 || !parse_target(argv[1])) {
    fprintf(stderr, "usage: uwsgi_load HOST:PORT CONNECTIONS(1-%d) SECONDS\n", max_connections);
    return 2;
  }
  build_request();
  int ep = epoll_create1(0);
  struct slot* slots = calloc(connections, sizeof *slots);
  double begin = now(), end = begin + seconds;
  for (int i = 0; i < connections; ++i) start(ep, &slots[i]);
  int active = connections;
  struct epoll_event events[max_connections];
  while (active > 0) {
    int n = epoll_wait(ep, events, max_connections, 100);
    int running = now() < end;
    for (int i = 0; i < n; ++i) {
      struct slot* s = events[i].data.ptr;
      if (!step(ep, s, events[i].events)) continue;
      if (running)
        start(ep, s);
      else
        --active;
    }
    if (now() > end + 10) break;  // a server that never answers: give up
  }
  double elapsed = now() - begin;
  qsort(samples, samples_len, sizeof(double), by_value);
  double p50 = samples_len ? samples[samples_len / 2] : 0;
  double p99 = samples_len ? samples[samples_len * 99 / 100] : 0;
  printf("requests=%zu seconds=%.3f rps=%.0f p50_us=%.1f p99_us=%.1f errors=%ld\n", samples_len,
         elapsed, samples_len / elapsed, p50, p99, errors + active);
  return errors + active ? 1 : 0;
}
