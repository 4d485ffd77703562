"""The start reports of the spooler benchmarks' tasks (spool_task.py, spool_stage_task.py; the
same module on brood and on real uWSGI): each task appends one line "ID START_NS [MORE...]" to
the file named by its `report` var, and the benchmark reads the file as it grows.

A file rather than a unix datagram socket: a datagram sender blocks once the reader is 10
datagrams behind (net.unix.max_dgram_qlen), so a benchmark process short of CPU used to stall
the spooler it measured inside the task (perf: the spooler slept up to 4.4 ms in sendto). An
append to a file never waits for the reader. Each line is one write(2) of under PIPE_BUF bytes
to a file opened with O_APPEND: lines of concurrent spooler processes do not interleave.
"""
import os
import time

_fd = None  # (path, fd) of the writer's open report file


def append(path, line):
    """Appends `line` (bytes, without its newline) to the report file `path` (which the
    benchmark made: a missing file raises, as a missing socket did)."""
    global _fd
    if _fd is None or _fd[0] != path:
        if _fd is not None:
            os.close(_fd[1])
            _fd = None
        _fd = (path, os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC))
    os.write(_fd[1], line + b"\n")


class Reports:
    """The reader: makes a new empty report file named `path` plus a suffix of its own (its
    `path`, to give the tasks: the writer keeps its file open while the name stays the same, so
    a name is never used twice) and returns its complete lines, split into fields, as they
    arrive."""

    def __init__(self, path):
        self.path = "%s.%x" % (path, time.monotonic_ns())
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDONLY | os.O_CLOEXEC, 0o666)
        os.fchmod(fd, 0o666)
        self.f = os.fdopen(fd, "rb", buffering=0)
        self.rest = b""

    def poll(self):
        """The lines appended since the last call (each a list of fields, bytes)."""
        buf = self.rest + (self.f.read() or b"")
        end = buf.rfind(b"\n")
        self.rest = buf[end + 1:]  # the incomplete tail, if a line is being written
        return [line.split() for line in buf[:end].split(b"\n")] if end >= 0 else []

    def wait(self, count, quiet_s=30.0, every_s=0.002):
        """Lines until `count` arrived, or none for `quiet_s` seconds (then TimeoutError naming
        how many came). Checks every `every_s` seconds: a task's time is in its line, so how soon
        the line is read does not change a figure."""
        got, last = [], time.monotonic()
        while len(got) < count:
            more = self.poll()
            if more:
                got += more
                last = time.monotonic()
            elif time.monotonic() - last > quiet_s:
                raise TimeoutError("only %d of %d tasks started within %g s of the last one" %
                                   (len(got), count, quiet_s))
            else:
                time.sleep(every_s)
        return got

    def close(self):
        self.f.close()
        os.unlink(self.path)
