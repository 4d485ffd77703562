"""Benchmark (iv) of issue 3: the fibcalc job (n**4096 for n in [0, RANGE), examples/fibcalc)
on one brood node and split over two, each node with one worker; the speedup is the ratio of
the wall times seen by the client. Reference: the same loop run in this process, without
brood. Nothing is pinned (two nodes, two vCPUs).

    PYTHONPATH=BUILD/python python3 fibcalc_bench.py BUILD_DIR [--range N] [--repeat R]

The figures are those of the round with the median speedup (of R rounds; each round runs the
job on one node, split over two, and split evenly over two).

Prints "BENCH py_fibcalc ...": the balanced split (parts of equal estimated cost, the
example's default) and the even split (equal ranges, as the original example; the upper half
costs more, which caps its speedup).
"""
import argparse
import os
import sys
import time

import cluster

EXAMPLE = os.path.join(os.path.dirname(cluster.HERE), os.pardir, "examples", "fibcalc")
sys.path.insert(0, os.path.abspath(EXAMPLE))
import fibcalc_client  # noqa: E402  (examples/fibcalc)


def local_seconds(lo, hi):
    start = time.perf_counter()
    for x in range(lo, hi):
        x**4096
    return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--range", type=int, default=15000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    n = args.range
    cluster.note("py_fibcalc: n**4096 for n in [0, %d), brood nodes with 1 worker each, "
                 "send_multi_uwsgi_message from this process, wall time seen by the client, the "
                 "round with the median speedup of %d" % (n, args.repeat))
    with cluster.Cluster(args.build_dir) as c:
        nodes = [c.brood("--module", "fibcalc_node", "--pythonpath", os.path.abspath(EXAMPLE))
                 for _ in range(2)]
        addresses = [node.address for node in nodes]
        fibcalc_client.run_job(addresses, fibcalc_client.split(0, 200, 2))  # warm-up
        local = local_seconds(0, n)
        rounds = []
        for _ in range(args.repeat):  # interleaved: a disturbance hits all three alike
            one, _ = fibcalc_client.run_job(addresses[:1], [[0, n]])
            two, answers = fibcalc_client.run_job(addresses, fibcalc_client.split(0, n, 2))
            even, _ = fibcalc_client.run_job(addresses, fibcalc_client.split(0, n, 2, "even"))
            rounds.append((one / two, one, two, answers, even, one / even))
    speedup, one, two, answers, even, even_speedup = sorted(rounds)[len(rounds) // 2]
    cluster.bench_line(
        "py_fibcalc", nodes=2, range=n, local_s="%.2f" % local, one_node_s="%.2f" % one,
        two_nodes_s="%.2f" % two, speedup="%.2f" % speedup, target_speedup=">=1.8",
        node_s="/".join("%.2f" % a for a in answers),
        even_split_s="%.2f" % even, even_split_speedup="%.2f" % even_speedup,
        speedups="/".join("%.2f" % r[0] for r in rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
