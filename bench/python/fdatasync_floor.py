"""The disk floor of a durable enqueue on this machine (issue 16): what one acknowledged task
costs at the least, measured in the spool dir's file system.

  log_append   pwrite of a 512-byte record at increasing offsets of a preallocated, fully
               written 4 MiB segment + fdatasync (the task log's commit of one task: the floor of
               brood's one-producer acknowledgment)
  log_dsync    the same segment opened O_DSYNC: the pwrite returns once durable (one system
               call, as PostgreSQL's wal_sync_method=open_datasync)
  log_direct   opened O_DIRECT|O_DSYNC: the 4 KiB block holding the record is written from an
               aligned buffer (the block is rewritten until full, as a WAL's tail page)
  file_durable write of a 512-byte temp file + fsync + rename + fsync of the dir (section 4 of
               docs/spool_format.md: the durable write without the log)
  file_plain   the same without the two fsyncs (what uWSGI does per task: no sync)

With --noise, each log figure is measured again while another process writes spool-like files
in the same file system (create + write + close, then, by mode: rename + unlink of the previous
one, as brood's writer and spooler do; O_TMPFILE + linkat + unlink; rename with the unlinks left
for later): the journal traffic a commit waits behind during the spooler benchmark
(noise_MODE_METHOD_p50_us).

    python3 fdatasync_floor.py [DIR] [--n N] [--noise]

Prints "BENCH fdatasync_floor ..." with p50 / p99 in microseconds and the load average.
"""
import argparse
import ctypes
import mmap
import multiprocessing
import os
import tempfile
import time

SEG = 4 << 20
LIBC = ctypes.CDLL(None, use_errno=True)
AT_EMPTY_PATH, AT_FDCWD = 0x1000, -100


def link_tmpfile(fd, path):
    """linkat(fd, "", path, AT_EMPTY_PATH): names an O_TMPFILE file (needs
    CAP_DAC_READ_SEARCH; /proc/self/fd/N with AT_SYMLINK_FOLLOW gave EXDEV on this machine)."""
    if LIBC.linkat(fd, b"", AT_FDCWD, path.encode(), AT_EMPTY_PATH) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def make_segment(path):
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.write(fd, b"\0" * SEG)
    os.fsync(fd)
    os.close(fd)


def log_commits(seg, n, method):
    """Microseconds per durable 512-byte append, by `method` (fdatasync, dsync, direct)."""
    flags = os.O_RDWR
    if method in ("dsync", "direct"):
        flags |= os.O_DSYNC
    if method == "direct":
        flags |= os.O_DIRECT
    fd = os.open(seg, flags)
    rec = b"r" * 512
    buf = mmap.mmap(-1, 4096)  # page aligned, for O_DIRECT
    out, off = [], 512
    for _ in range(n):
        t0 = time.perf_counter_ns()
        if method == "direct":
            block = off // 4096 * 4096
            buf[off - block:off - block + 512] = rec
            os.pwritev(fd, [buf], block)
        else:
            os.pwrite(fd, rec, off)
            if method == "fdatasync":
                os.fdatasync(fd)
        out.append((time.perf_counter_ns() - t0) / 1000)
        off = off + 512 if off + 1024 < SEG else 512
    os.close(fd)
    return out


def noise(d, mode, stop):
    """Spool-like file traffic in `d` until `stop` is set."""
    rec = b"n" * 600
    i, later = 0, []
    while not stop.is_set():
        final = os.path.join(d, "uwsgi_spoolfile_on_noise_%d" % i)
        if mode == "tmpfile":
            f = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o600)
            os.write(f, rec)
            link_tmpfile(f, final)
            os.close(f)
        else:
            tmp = os.path.join(d, ".brood_tmp_noise_%d" % i)
            f = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            os.write(f, rec)
            os.close(f)
            os.rename(tmp, final)
        if mode == "deferred":
            later.append(final)
            if len(later) >= 256:  # a batched background pass
                for p in later:
                    os.unlink(p)
                later = []
        elif i > 0:
            os.unlink(os.path.join(d, "uwsgi_spoolfile_on_noise_%d" % (i - 1)))
        i += 1
        time.sleep(0.0002)  # ~ a few thousand tasks/s, as the benchmark's spooler
    for p in later:
        os.unlink(p)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir", nargs="?", default=None)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--noise", action="store_true")
    args = p.parse_args()
    load = " ".join("%.2f" % x for x in os.getloadavg())
    figs = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        seg = os.path.join(d, "segment")
        make_segment(seg)
        dfd = os.open(d, os.O_RDONLY)
        os.fsync(dfd)
        for method in ("fdatasync", "dsync", "direct"):
            name = {"fdatasync": "log_append", "dsync": "log_dsync", "direct": "log_direct"}[method]
            v = log_commits(seg, args.n, method)
            figs[name + "_p50_us"], figs[name + "_p99_us"] = pct(v, 0.5), pct(v, 0.99)
        rec = b"r" * 512

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
        for i in range(args.n):
            os.unlink(os.path.join(d, "task%d" % i))
        figs["file_durable_p50_us"], figs["file_durable_p99_us"] = pct(durable, .5), pct(durable, .99)
        figs["file_plain_p50_us"], figs["file_plain_p99_us"] = pct(plain, .5), pct(plain, .99)
        if args.noise:
            nd = os.path.join(d, "noise")
            os.mkdir(nd)
            for mode in ("rename", "tmpfile", "deferred"):
                for method in ("fdatasync", "dsync", "direct"):
                    stop = multiprocessing.Event()
                    proc = multiprocessing.Process(target=noise, args=(nd, mode, stop))
                    proc.start()
                    v = log_commits(seg, args.n, method)
                    stop.set()
                    proc.join()
                    figs["noise_%s_%s_p50_us" % (mode, method)] = pct(v, 0.5)
                    figs["noise_%s_%s_p99_us" % (mode, method)] = pct(v, 0.99)
        os.close(dfd)
    print("BENCH fdatasync_floor n=%d %s load=%s" % (
        args.n, " ".join("%s=%.0f" % kv for kv in figs.items()), load.replace(" ", "/")))


if __name__ == "__main__":
    main()
