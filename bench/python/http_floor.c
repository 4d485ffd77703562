// http_floor: the floor of the HTTP benchmark (http_bench.py): a minimal HTTP/1.1 keep-alive
// server that answers every request (a header ending in an empty line; bodies are not read) with
// the bytes brood and uWSGI answer the WSGI hello app with. PROCESSES processes (forked after the
// bind) share the listening socket, each with its own epoll loop: what this machine does with
// wrk beside it when no application runs.
//
//   http_floor HOST PROCESSES
//
// Prints "listening on HOST:PORT" (an ephemeral port) once every process runs; runs until
// killed. Built by http_bench.py (cc -O2).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

static const char reply[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nHello World\n";

struct conn {
  int fd;
  size_t used;
  char buf[8192];
};

static void serve(int lfd) {
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event events[64];
  char out[sizeof reply * 64];
  for (;;) {
    int n = epoll_wait(ep, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      struct conn* c = events[i].data.ptr;
      if (c == NULL) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn* nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      ssize_t got = recv(c->fd, c->buf + c->used, sizeof c->buf - c->used, 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        close(c->fd);
        free(c);
        continue;
      }
      c->used += (size_t)got;
      size_t start = 0, answers = 0;
      char* end;
      while ((end = memmem(c->buf + start, c->used - start, "\r\n\r\n", 4)) != NULL) {
        start = (size_t)(end - c->buf) + 4;
        if (answers < 64) memcpy(out + answers * (sizeof reply - 1), reply, sizeof reply - 1);
        ++answers;
      }
      memmove(c->buf, c->buf + start, c->used - start);
      c->used -= start;
      if (answers > 64) answers = 64;
      if (answers > 0 && send(c->fd, out, answers * (sizeof reply - 1), MSG_NOSIGNAL) < 0) {
        close(c->fd);
        free(c);
      } else if (c->used == sizeof c->buf) {  // no request fits: drop it
        close(c->fd);
        free(c);
      }
    }
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: http_floor HOST PROCESSES\n");
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  inet_pton(AF_INET, argv[1], &sa.sin_addr);
  if (bind(lfd, (struct sockaddr*)&sa, sizeof sa) != 0 || listen(lfd, 1024) != 0) {
    perror("http_floor: bind");
    return 1;
  }
  socklen_t len = sizeof sa;
  getsockname(lfd, (struct sockaddr*)&sa, &len);
  int processes = atoi(argv[2]);
  for (int i = 1; i < processes; ++i) {
    if (fork() == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      serve(lfd);
    }
  }
  printf("listening on %s:%d\n", argv[1], ntohs(sa.sin_port));
  fflush(stdout);
  serve(lfd);
  return 0;
}
