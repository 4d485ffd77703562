"""The placement benchmark's records (bench/python/placement_cluster.py, placement_bench.py): a run
lasts from its process's fork to its exit, so two copies of one vassal are ordered by when their
processes began, not by when their `exec-asap` hooks ran (up to seconds later on a loaded machine,
at `legion-vassal-nice` 10). A planned hand-over whose old copy's hook ran after the new copy's
is still a hand-over, not a double run (the 08:35 run of 2026-12-07 counted one so: v005, m2
forked 764.725 and handed it over at 765.783, its hook at 766.092; m3 forked 764.999, its hook
at 765.115). No root needed: the records are written here.
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "python"))

import placement_bench as pb  # noqa: E402
import placement_cluster as pc  # noqa: E402

T = 1796632700.0


class _Cluster:
    """What classify() reads of a Placement: its records, its runs and the hand-over lines."""

    def __init__(self, records, handed):
        self.records = records
        self._handed = handed

    def runs(self):
        return pc.read_runs(self.records)

    def handed_over(self, what="handed over to"):
        return self._handed if what == "handed over to" else []


def _write(path, lines):
    with open(path, "w") as f:
        for kind, vassal, member, pid, t in lines:
            f.write("%s %s %s %s %.6f\n" % (kind, vassal, member, pid, T + t))


def test_a_hand_over_whose_old_hook_ran_late_is_planned():
    with tempfile.TemporaryDirectory() as tmp:
        records = os.path.join(tmp, "records.log")
        _write(records, [
            ("start", "v005", "m3", 21821, 65.115), ("fork", "v005", "m3", 21821, 64.999),
            ("start", "v005", "m2", 21799, 66.092), ("fork", "v005", "m2", 21799, 64.725),
            ("stop", "v005", "m2", 21799, 66.437), ("stop", "v005", "m3", 21821, 73.480),
        ])
        runs = pc.read_runs(records)
        assert [(r.member, round(r.start - T, 3)) for r in runs] == [("m2", 64.725),
                                                                    ("m3", 64.999)]
        pl = _Cluster(records, [("v005", "m2", T + 65.783)])
        plan, double = pb.classify(pl, T, T + 100)
        assert double == []
        assert len(plan) == 1
        vassal, old, new, seconds, _, _ = plan[0]
        assert (vassal, old.member, new.member) == ("v005", "m2", "m3")
        assert abs(seconds - (66.437 - 64.999)) < 1e-6


def test_an_overlap_counts_from_the_forks_not_the_hooks():
    with tempfile.TemporaryDirectory() as tmp:
        records = os.path.join(tmp, "records.log")
        # m1 killed its copy (fenced) at 62.390; m3's copy began at 61.998 but its hook ran after
        # the kill: the processes overlapped for 0.392 s, with no hand-over.
        _write(records, [
            ("start", "v002", "m1", 16846, 52.900), ("fork", "v002", "m1", 16846, 52.647),
            ("stop", "v002", "m1", 16846, 62.390),
            ("start", "v002", "m3", 17219, 62.500), ("fork", "v002", "m3", 17219, 61.998),
            ("stop", "v002", "m3", 17219, 65.828),
        ])
        plan, double = pb.classify(_Cluster(records, []), T, T + 100)
        assert plan == []
        assert len(double) == 1
        assert abs(double[0][3] - 0.392) < 1e-6


def test_a_process_fork_time_is_read_from_proc():
    before = time.time()
    p = subprocess.Popen(["sleep", "5"])
    try:
        t = pc.began(p.pid)
    finally:
        p.kill()
        p.wait()
    after = time.time()
    assert t is not None
    assert before - 0.02 <= t <= after + 0.02  # clock ticks: 10 ms
    assert pc.began(p.pid) is None  # reaped: gone
