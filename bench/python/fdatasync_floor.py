"""The disk floor of a durable enqueue on this machine (issue 16): what one acknowledged task
costs at the least, measured in the spool dir's file system.

  log_append   pwrite of a 512-byte record at increasing offsets of a preallocated, fully
               written 4 MiB segment + fdatasync (the task log's commit of one task: the floor of
               brood's one-producer acknowledgment)
  file_durable write of a 512-byte temp file + fsync + rename + fsync of the dir (section 4 of
               docs/spool_format.md: the durable write without the log)
  file_plain   the same without the two fsyncs (what uWSGI does per task: no sync)

    python3 fdatasync_floor.py [DIR] [--n N]

Prints "BENCH fdatasync_floor ..." with p50 / p99 in microseconds and the load average.
"""
import argparse
import os
import tempfile
import time


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir", nargs="?", default=None)
    p.add_argument("--n", type=int, default=2000)
    args = p.parse_args()
    load = " ".join("%.2f" % x for x in os.getloadavg())
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        seg = os.path.join(d, "segment")
        fd = os.open(seg, os.O_CREAT | os.O_RDWR, 0o600)
        os.write(fd, b"\0" * (4 << 20))
        os.fsync(fd)
        dfd = os.open(d, os.O_RDONLY)
        os.fsync(dfd)
        rec = b"r" * 512
        log_us, off = [], 512
        for _ in range(args.n):
            t0 = time.perf_counter_ns()
            os.pwrite(fd, rec, off)
            os.fdatasync(fd)
            log_us.append((time.perf_counter_ns() - t0) / 1000)
            off = off + 512 if off + 1024 < (4 << 20) else 512
        os.close(fd)

        def file_write(i, sync):
            tmp, final = os.path.join(d, ".tmp%d" % i), os.path.join(d, "task%d" % i)
            t0 = time.perf_counter_ns()
            f = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            os.write(f, rec)
            if sync:
                os.fsync(f)
            os.close(f)
            os.rename(tmp, final)
            if sync:
                os.fsync(dfd)
            return (time.perf_counter_ns() - t0) / 1000

        durable = [file_write(i, True) for i in range(args.n)]
        for i in range(args.n):
            os.unlink(os.path.join(d, "task%d" % i))
        plain = [file_write(i, False) for i in range(args.n)]
        os.close(dfd)
    print("BENCH fdatasync_floor n=%d log_append_p50_us=%.0f log_append_p99_us=%.0f "
          "file_durable_p50_us=%.0f file_durable_p99_us=%.0f file_plain_p50_us=%.0f "
          "file_plain_p99_us=%.0f load=%s" % (
              args.n, pct(log_us, 0.5), pct(log_us, 0.99), pct(durable, 0.5),
              pct(durable, 0.99), pct(plain, 0.5), pct(plain, 0.99), load.replace(" ", "/")))


if __name__ == "__main__":
    main()
