"""The spooler task of spooler_bench.py, the same file on brood and on real uWSGI.

Each task reports its start time (time.monotonic_ns(), CLOCK_MONOTONIC like the benchmark's
clock) and its id as one datagram to the unix socket named by its `report` var, then returns
SPOOL_OK so the spooler deletes it.
"""
import socket
import time

import uwsgi

_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)


def task(args):
    start = time.monotonic_ns()
    _sock.sendto(b"%s %d" % (args[b"id"], start), args[b"report"])
    return uwsgi.SPOOL_OK


uwsgi.spooler = task
