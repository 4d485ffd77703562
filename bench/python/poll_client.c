/* poll_client: the fork server benchmark's client (forkserver_bench.py --client c). It prints
 * "ready", waits for one byte on stdin (sent right after the vassal file's rename), then polls
 * HOST:PORT every INTERVAL_US microseconds with one uwsgi GET / (modifier1 0) until a 200
 * answer comes, and prints "STATUS NS BODY_LEN\n" then the body: NS is CLOCK_MONOTONIC (Python's time.monotonic)
 * when the answer was read to its end. A refused connection, a reset or another status is
 * polled again; exit 2 when no 200 came within TIMEOUT_MS. It measures what the Python client
 * measures, at a fraction of its CPU per poll (3 system calls and a sleep).
 *   poll_client HOST PORT INTERVAL_US TIMEOUT_MS */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static size_t put_var(unsigned char* out, const char* k, const char* v) {
  size_t kl = strlen(k), vl = strlen(v);
  out[0] = kl & 0xff, out[1] = kl >> 8;
  memcpy(out + 2, k, kl);
  out[2 + kl] = vl & 0xff, out[3 + kl] = vl >> 8;
  memcpy(out + 4 + kl, v, vl);
  return 4 + kl + vl;
}

/* One GET: the reply's length in `reply` (read to EOF), -1 when the connection failed. */
static ssize_t get_once(const struct sockaddr_in* to, const unsigned char* req, size_t req_len,
                        char* reply, size_t cap, int64_t deadline) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (const struct sockaddr*)to, sizeof *to) != 0 ||
      send(fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
    close(fd);
    return -1;
  }
  size_t got = 0;
  for (;;) {
    int64_t left_ms = (deadline - now_ns()) / 1000000;
    struct pollfd p = {fd, POLLIN, 0};
    if (left_ms <= 0 || poll(&p, 1, (int)left_ms) != 1) break;
    ssize_t n = read(fd, reply + got, cap - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return -1;
    }
    if (n == 0 || (got += (size_t)n) == cap) break;
  }
  close(fd);
  return (ssize_t)got;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: poll_client HOST PORT INTERVAL_US TIMEOUT_MS\n");
    return 64;
  }
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    fprintf(stderr, "poll_client: bad host %s\n", argv[1]);
    return 64;
  }
  const long interval_us = atol(argv[3]);
  const struct timespec pause = {interval_us / 1000000, (interval_us % 1000000) * 1000};
  unsigned char block[512];
  size_t len = 0;
  len += put_var(block + len, "REQUEST_METHOD", "GET");
  len += put_var(block + len, "REQUEST_URI", "/");
  len += put_var(block + len, "PATH_INFO", "/");
  len += put_var(block + len, "QUERY_STRING", "");
  len += put_var(block + len, "SERVER_PROTOCOL", "HTTP/1.1");
  len += put_var(block + len, "SERVER_NAME", "localhost");
  len += put_var(block + len, "SERVER_PORT", "80");
  len += put_var(block + len, "REMOTE_ADDR", "127.0.0.1");
  unsigned char req[4 + sizeof block];
  req[0] = 0, req[1] = len & 0xff, req[2] = len >> 8, req[3] = 0;
  memcpy(req + 4, block, len);
  /* Ready: the caller renames the vassal file only once this process waits here, so that its
   * start-up (exec, the loader) does not compete with the adoption for a CPU. */
  printf("ready\n");
  fflush(stdout);
  char go;
  if (read(STDIN_FILENO, &go, 1) != 1) return 1; /* the caller went away */
  const int64_t deadline = now_ns() + atoll(argv[4]) * 1000000;
  static char reply[1 << 16];
  while (now_ns() < deadline) {
    ssize_t n = get_once(&to, req, 4 + len, reply, sizeof reply - 1, deadline);
    int64_t answered = now_ns();
    if (n > 0) {
      reply[n] = '\0';
      char* end = memmem(reply, (size_t)n, "\r\n\r\n", 4);
      int status = 0;
      if (sscanf(reply, "HTTP/%*s %d", &status) != 1) status = 0;
      if (status == 200 && end) {
        size_t body = (size_t)n - (size_t)(end + 4 - reply);
        printf("%d %lld %zu\n", status, (long long)answered, body);
        fwrite(end + 4, 1, body, stdout);
        return 0;
      }
    }
    nanosleep(&pause, NULL);
  }
  return 2;
}
