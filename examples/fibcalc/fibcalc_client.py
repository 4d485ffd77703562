"""The web-node side of the "CPU Ultra-Intensive task" cluster example: n**4096 for every n in
[0, RANGE), split over fibcalc nodes with send_multi_uwsgi_message; each node answers the seconds
it computed. Runs the whole job on the first node alone, then split over all of them, and prints
the speedup.

    PYTHONPATH=BUILD/python python3 fibcalc_client.py [--range N] [--split balanced|even] \
        HOST:PORT [HOST:PORT ...]

The cost of n**4096 grows with the digits of n, so equal ranges are not equal work (with two
nodes the upper half costs ~60% of the whole). --split balanced (the default) cuts the range
into parts of equal estimated cost; --split even cuts it into equal ranges, as the original
example did.
"""
import argparse
import math
import sys
import time

from brood import uwsgi

# remotecalc() is the original example's WSGI callable, unchanged except that the cluster table
# is built from the command line (the original listed five fixed machines).
clusters = ()  # ((host, port, [start, end]), ...)


def remotecalc(env, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    all_values = uwsgi.send_multi_uwsgi_message(clusters, 33, 17, 40);
    return all_values


def _cost(n):
    """Estimated cost of n**4096: the operands have ~4096*log2(n) bits and CPython multiplies
    big ints with Karatsuba, O(bits**1.585)."""
    return math.log2(max(n, 2)) ** 1.585


def split(lo, hi, parts, how="balanced"):
    """Cuts [lo, hi) into `parts` contiguous [start, end) ranges covering it exactly."""
    if how == "even":
        cuts = [lo + (hi - lo) * k // parts for k in range(parts + 1)]
    else:
        total = sum(_cost(n) for n in range(lo, hi))
        cuts, acc, k = [lo], 0.0, 1
        for n in range(lo, hi):
            acc += _cost(n)
            while k < parts and acc >= total * k / parts:
                cuts.append(n + 1)
                k += 1
        cuts += [hi] * (parts + 1 - len(cuts))
    return [[cuts[k], cuts[k + 1]] for k in range(parts)]


def _host_port(address):
    host, port = address.rsplit(":", 1)
    return host, int(port)


def run_job(addresses, ranges):
    """Runs remotecalc over addresses[i] with ranges[i]. Returns (wall seconds, the answers).
    Raises RuntimeError when a node gave no answer (None in its slot)."""
    global clusters
    clusters = tuple(_host_port(a) + (r,) for a, r in zip(addresses, ranges))
    start = time.perf_counter()
    answers = remotecalc({}, lambda status, headers: None)
    wall = time.perf_counter() - start
    if answers is None or any(a is None for a in answers):
        raise RuntimeError("a node did not answer: %r" % (answers,))
    return wall, answers


def _report(title, addresses, ranges, wall, answers):
    print("%s: %.2f s" % (title, wall))
    for a, r, seconds in zip(addresses, ranges, answers):
        print("  %s computed [%d, %d) in %.2f s" % (a, r[0], r[1], seconds))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--range", type=int, default=15000, help="compute n**4096 for n in [0, RANGE)")
    p.add_argument("--split", choices=("balanced", "even"), default="balanced")
    p.add_argument("nodes", nargs="+", metavar="HOST:PORT")
    args = p.parse_args(argv)
    alone = [args.nodes[0]]
    wall1, answers1 = run_job(alone, [[0, args.range]])
    _report("one node", alone, [[0, args.range]], wall1, answers1)
    ranges = split(0, args.range, len(args.nodes), args.split)
    wall_n, answers_n = run_job(args.nodes, ranges)
    _report("%d nodes (%s split)" % (len(args.nodes), args.split), args.nodes, ranges, wall_n,
            answers_n)
    print("speedup: %.2fx with %d nodes" % (wall1 / wall_n, len(args.nodes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
