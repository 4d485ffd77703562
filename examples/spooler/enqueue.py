"""The client of the "centralized spooler" example: asks the web nodes, in turn, to queue TASKS
jobs (GET /?job=J&n=N over the uwsgi protocol, as nginx would), then waits for the spooler node
to have run them all (one line each in RESULTS) and prints those lines.

    python3 enqueue.py --tasks 6 --results FILE WEB_ADDR [WEB_ADDR...]

Exit status 0 when every job ran within --timeout seconds, 1 otherwise.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from uwsgi_get import get  # noqa: E402  (examples/uwsgi_get.py)


def result_lines(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n") for line in f if line.endswith("\n")]
    except FileNotFoundError:
        return []


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", type=int, default=6)
    p.add_argument("--results", required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("webs", nargs="+")
    a = p.parse_args()
    for job in range(1, a.tasks + 1):
        web = a.webs[(job - 1) % len(a.webs)]
        status, body = get(web, "/?job=%d&n=%d" % (job, 22 + job % 8))
        sys.stdout.write(body.decode("utf-8", "replace"))
        if " 200 " not in status + " ":
            print("enqueue.py: %s answered %s" % (web, status), file=sys.stderr)
            return 1
    print("waiting for the spooler node to run %d tasks" % a.tasks, flush=True)
    deadline = time.monotonic() + a.timeout
    while len(result_lines(a.results)) < a.tasks and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = result_lines(a.results)
    for line in sorted(lines, key=lambda s: int(s.split()[1])):
        print(line)
    if len(lines) < a.tasks:
        print("enqueue.py: only %d of %d tasks ran" % (len(lines), a.tasks), file=sys.stderr)
        return 1
    print("all %d tasks ran on the spooler node" % a.tasks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
