"""The spooler task of spooler_stages.py: like spool_task.py, it reports its id and start time
(CLOCK_MONOTONIC), and also when its spool file was last written or renamed (its ctime: brood sets the mtime, converted
from CLOCK_REALTIME to CLOCK_MONOTONIC; the kernel's file timestamps are coarse: a few ms)."""
import os
import time

import start_report
import uwsgi


def task(args):
    start = time.monotonic_ns()
    offset = time.time_ns() - time.monotonic_ns()
    try:
        written = os.stat(args.get("spooler_task_name") or args[b"spooler_task_name"]).st_ctime_ns - offset
    except (OSError, KeyError):
        written = 0
    start_report.append(args[b"report"], b"%s %d %d" % (args[b"id"], start, written))
    return uwsgi.SPOOL_OK


uwsgi.spooler = task
