"""A/B of two brood builds' enqueue round trip with one producer (issue 16): both nodes in one
cluster, ROUNDS rounds of TASKS tasks each (spooler_bench.py's client: a new connection per
task, each answer read to EOF), the order of the two nodes alternating each round, so that a
change of the machine's load during the run falls on both alike.

    python3 spooler_ab.py BUILD_DIR BASE_BUILD_DIR [--rounds R] [--tasks N] [--producers P]

Prints the enqueue p50 and tasks/s of every round and "BENCH spooler_ab_Pproducers
brood_enq_p50_us=... base_enq_p50_us=... ratio=... brood_tasks_s=... base_tasks_s=...
brood_start_p50_us=... base_start_p50_us=..." (medians of the
rounds) with the load average before and after.
"""
import argparse
import os
import statistics

import cluster
import spooler_bench


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build_dir")
    p.add_argument("base")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--tasks", type=int, default=400)
    p.add_argument("--producers", type=int, default=1)
    args = p.parse_args(argv)
    load = " ".join("%.2f" % x for x in os.getloadavg())
    with cluster.Cluster(args.build_dir) as c:
        nodes = spooler_bench.brood_and_base(c, args.base)
        enq = {k: [] for k in nodes}
        start = {k: [] for k in nodes}
        rate = {k: [] for k in nodes}
        for r in range(args.rounds):
            order = list(nodes) if r % 2 == 0 else list(nodes)[::-1]
            for k in order:
                fig = spooler_bench.run_once(
                    nodes[k].address, args.producers, args.tasks, os.path.join(c.tmp, "r.sock"))
                tasks_s, acked, starts = fig[0], fig[1], fig[2]
                rate[k].append(tasks_s)
                enq[k].append(spooler_bench.pct(acked, 0.5))
                start[k].append(spooler_bench.pct(starts, 0.5))
    for k in nodes:
        print("# %s enqueue p50 per round (us): %s" % (k, " ".join("%.0f" % x for x in enq[k])))
        print("# %s tasks/s per round: %s" % (k, " ".join("%.0f" % x for x in rate[k])))
    b, a = statistics.median(enq["brood"]), statistics.median(enq["base"])
    print("BENCH spooler_ab_%dproducers brood_enq_p50_us=%.0f base_enq_p50_us=%.0f ratio=%.2f "
          "brood_tasks_s=%.0f base_tasks_s=%.0f "
          "brood_start_p50_us=%.0f base_start_p50_us=%.0f rounds=%d tasks=%d load=%s -> %s" % (
              args.producers, b, a, b / a, statistics.median(rate["brood"]),
              statistics.median(rate["base"]), statistics.median(start["brood"]),
              statistics.median(start["base"]), args.rounds, args.tasks, load.replace(" ", "/"),
              "/".join("%.2f" % x for x in os.getloadavg())))


if __name__ == "__main__":
    main()
