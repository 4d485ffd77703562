"""The spooler task of spooler_bench.py, the same file on brood and on real uWSGI.

Each task reports its id and start time (time.monotonic_ns(), CLOCK_MONOTONIC like the
benchmark's clock) as one line appended to the file named by its `report` var
(start_report.py), then returns SPOOL_OK so the spooler deletes it.
"""
import time

import start_report
import uwsgi


def task(args):
    start = time.monotonic_ns()
    start_report.append(args[b"report"], b"%s %d" % (args[b"id"], start))
    return uwsgi.SPOOL_OK


uwsgi.spooler = task
