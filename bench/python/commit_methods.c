// commit_methods: the fastest durable commit of a task log record on this disk (issue 16). Six
// ways to make a 200-byte record durable in a preallocated, already written 4 MiB segment (as
// the task log's segments are), each on its own segment in DIR, interleaved in ROUNDS rounds of
// N commits per method so that a change of the machine's load falls on all alike:
//   pwrite_fdatasync      pwrite + fdatasync (what the task log does)
//   odsync_pwrite         the segment opened O_DSYNC, one pwrite
//   odirect_odsync_4k     O_DIRECT|O_DSYNC, the 4 KiB block holding the record rewritten
//   pwritev2_rwf_dsync    pwritev2(RWF_DSYNC)
//   odirect_fdatasync_4k  O_DIRECT, the 4 KiB block, then fdatasync
//   odirect_rwf_dsync_4k  O_DIRECT, the 4 KiB block with pwritev2(RWF_DSYNC)
//
//   cc -O2 -o /tmp/commit_methods commit_methods.c && /tmp/commit_methods DIR [N] [ROUNDS]
//
// Prints "BENCH commit_methods n=... METHOD_p50_us=... METHOD_p99_us=..." (per method).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#define SEG (4u << 20)
#define REC 200
static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static int cmp(const void* a, const void* b) {
  long long x = *(long long*)a, y = *(long long*)b;
  return x < y ? -1 : x > y;
}
static void mk(const char* p) {
  int fd = open(p, O_CREAT | O_TRUNC | O_RDWR, 0600);
  char* z = calloc(1, 65536);
  posix_fallocate(fd, 0, SEG);
  for (unsigned o = 0; o < SEG; o += 65536) pwrite(fd, z, 65536, o);
  fsync(fd);
  close(fd);
  free(z);
}
enum {
  M_FDATASYNC,
  M_ODSYNC,
  M_DIRECT_DSYNC,
  M_RWF_DSYNC,
  M_DIRECT_FDATASYNC,
  M_DIRECT_RWF_DSYNC,
  M_N
};
static const char* names[M_N] = {"pwrite_fdatasync",     "odsync_pwrite",
                                 "odirect_odsync_4k",    "pwritev2_rwf_dsync",
                                 "odirect_fdatasync_4k", "odirect_rwf_dsync_4k"};
int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : "/tmp/sp16";
  int n = argc > 2 ? atoi(argv[2]) : 2000;
  int rounds = argc > 3 ? atoi(argv[3]) : 10;
  char p[M_N][512];
  int fd[M_N];
  unsigned off[M_N];
  for (int m = 0; m < M_N; m++) {
    snprintf(p[m], 512, "%s/seg_%d", dir, m);
    mk(p[m]);
    off[m] = 4096;
  }
  fd[M_FDATASYNC] = open(p[0], O_RDWR);
  fd[M_ODSYNC] = open(p[1], O_RDWR | O_DSYNC);
  fd[M_DIRECT_DSYNC] = open(p[2], O_RDWR | O_DIRECT | O_DSYNC);
  fd[M_RWF_DSYNC] = open(p[3], O_RDWR);
  fd[M_DIRECT_FDATASYNC] = open(p[4], O_RDWR | O_DIRECT);
  fd[M_DIRECT_RWF_DSYNC] = open(p[5], O_RDWR | O_DIRECT);
  char rec[REC];
  memset(rec, 'r', REC);
  void* blk = NULL;
  posix_memalign(&blk, 4096, 4096);
  memset(blk, 'b', 4096);
  long long* lat[M_N];
  for (int m = 0; m < M_N; m++) lat[m] = malloc(sizeof(long long) * n * rounds);
  int per = n;
  int cnt[M_N] = {0};
  for (int r = 0; r < rounds; r++)
    for (int m = 0; m < M_N; m++) {
      for (int i = 0; i < per; i++) {
        if (off[m] + REC > SEG) off[m] = 4096;
        long long t0 = now_ns();
        int rc = 0;
        switch (m) {
          case M_FDATASYNC:
            rc = pwrite(fd[m], rec, REC, off[m]) != REC || fdatasync(fd[m]);
            break;
          case M_ODSYNC:
            rc = pwrite(fd[m], rec, REC, off[m]) != REC;
            break;
          case M_RWF_DSYNC: {
            struct iovec v = {rec, REC};
            rc = pwritev2(fd[m], &v, 1, off[m], RWF_DSYNC) != REC;
            break;
          }
          case M_DIRECT_DSYNC:
            rc = pwrite(fd[m], blk, 4096, off[m] & ~4095u) != 4096;
            break;
          case M_DIRECT_FDATASYNC:
            rc = pwrite(fd[m], blk, 4096, off[m] & ~4095u) != 4096 || fdatasync(fd[m]);
            break;
          case M_DIRECT_RWF_DSYNC: {
            struct iovec v = {blk, 4096};
            rc = pwritev2(fd[m], &v, 1, off[m] & ~4095u, RWF_DSYNC) != 4096;
            break;
          }
        }
        if (rc) {
          fprintf(stderr, "%s: %s\n", names[m], strerror(errno));
          return 1;
        }
        lat[m][cnt[m]++] = now_ns() - t0;
        off[m] += REC;
      }
    }
  double la[3];
  getloadavg(la, 3);
  printf("BENCH commit_methods n=%d rounds=%d load=%.2f", per * rounds, rounds, la[0]);
  for (int m = 0; m < M_N; m++) {
    qsort(lat[m], cnt[m], sizeof(long long), cmp);
    printf(" %s_p50_us=%lld %s_p99_us=%lld", names[m], lat[m][cnt[m] / 2] / 1000, names[m],
           lat[m][cnt[m] * 99 / 100] / 1000);
  }
  printf("\n");
  for (int m = 0; m < M_N; m++) unlink(p[m]);
  return 0;
}
