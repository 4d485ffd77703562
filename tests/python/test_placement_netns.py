"""Placement self-fencing under a cut (docs/legion.md "Placement", docs/architecture.md §6.4):
three emperors with `emperor = legion:pl,DIR`, each in its own network namespace
(bench/python/netns.py), share one directory of 12 brood vassals (bench/python/placement_cluster.py:
each vassal's start and the exit of its process are recorded with its member and the time).

A member that is not the lord has its link cut: it must kill its vassals (its log says so) before
its placement lease (`legion-vassal-lease`, counted from the cut: no report of it can be
acknowledged after) runs out, the two others must start them only after that lease, and it starts
nothing while cut; after the heal it rejoins empty and is given vassals again until the spread is
back to 4/4/4. Then the same with the lord's link (its lease counted from the moment it stepped
down, from its log: until then it acknowledged its own reports). No vassal may run on two members
at once, except in the planned moves that refill a member (the new copy starts before the old one
stops, on a connected member). Needs root (CAP_NET_ADMIN): skipped with the reason otherwise.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "python"))

import netns  # noqa: E402
import placement_cluster as pc  # noqa: E402

VASSALS = 12
LEASE_MS = 1500
REPORT_EVERY = 0.1  # s: a member reports every legion heartbeat (brood's default, 100 ms)
_UNLORD = re.compile(r"^(\d+\.\d+) .*legion '%s': unlord" % pc.NAME)
DEADLINE = 45.0  # generous: a loaded 2-vCPU machine; speed is the benchmark's job


def _brood():
    path = os.environ.get("BROOD_BINARY")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("BROOD_BINARY must name the built brood (ctest sets it), got %r" % path)
    return path


@pytest.fixture
def cluster():
    reason = netns.available()
    if reason:
        pytest.skip(reason)
    brood = _brood()
    if "--legion-vassal-lease" not in subprocess.run([brood, "--help"], capture_output=True,
                                                     text=True).stdout:
        pytest.skip("this brood has no placement (--legion-vassal-lease)")
    with tempfile.TemporaryDirectory(prefix="brood-placement-netns-") as tmp, \
            netns.Fabric(["m1", "m2", "m3"]) as fabric, \
            pc.Placement(brood, tmp, fabric, vassals=VASSALS, lease_ms=LEASE_MS) as pl:
        yield pl, fabric
        pl.check_alive()  # no emperor exited on its own during the test


def _dump(pl):
    """The emperors' logs and the records, for a failure's report."""
    for h in pl.hosts:
        sys.stderr.write("---- emperor %s (last lines)\n%s\n" % (
            h, "\n".join(pl.output(h).splitlines()[-80:])))
    with open(pl.records) as f:
        sys.stderr.write("---- records\n%s\n" % f.read()[-8000:])


def _even(counts):
    return all(n == VASSALS // len(counts) for n in counts.values())


def _unlord_after(pl, host, t):
    for line in pl.output(host).splitlines():
        m = _UNLORD.match(line)
        if m and float(m.group(1)) > t:
            return float(m.group(1))
    return None


def _fenced_at(pl, host, t):
    """The times, after t, of the host's "SIGKILL (fenced" log lines (stamped on arrival)."""
    return ["%.3f" % (float(line.split()[0]) - t) for line in pl.output(host).splitlines()
            if "SIGKILL (fenced" in line and float(line.split()[0]) > t]


def _cut_and_heal(pl, fabric, victim, started, was_lord=False):
    others = [h for h in pl.hosts if h != victim]
    mine = pl.answering([victim])[victim]
    assert mine, "%s runs nothing before the cut" % victim
    tc0 = time.time()
    fabric.cut(victim)
    # cut by now (ip(8) may take a while on a loaded machine): the last ack came before
    tc = pl.note("cut", victim)
    # the two others run all of them (the victim's included)
    pl.wait_answering(lambda c: True, DEADLINE, hosts=others)
    # The last moment an ack could reach it: the cut; for the lord (which acknowledges its own
    # reports), the moment it stepped down, from its log.
    last_ack = tc
    if was_lord:
        last_ack = pl.wait(lambda: _unlord_after(pl, victim, tc0), DEADLINE, "unlord of " + victim)
    lease_end = last_ack + pl.lease
    # A member's lease runs from the moment it sent the report its lord acknowledged, and the lord
    # counts it from that report's arrival: the last report before the cut was sent at most one
    # report interval (REPORT_EVERY) before the cut began (tc0), so its lease, and the lord's wait,
    # may end up to that much before tc0 + lease. For a cut lord its successor counts from its own
    # election, after the cut lord's term ended.
    earliest = (last_ack if was_lord else tc0 - REPORT_EVERY) + pl.lease
    runs = pl.runs()
    # self-fencing: every run of the victim that was up at the cut ended before its lease did
    up = [r for r in runs if r.member == victim and r.start < tc and (r.stop is None or
                                                                       r.stop > tc)]
    assert {r.vassal for r in up} >= mine, (up, mine)
    late = [r for r in up if r.stop is None or r.stop > lease_end]
    assert not late, "still running %.3f s after its last ack (lease %.3f s): %s; its fenced " \
        "kills logged at %s s" % (max((r.stop or time.time()) - last_ack for r in late), pl.lease,
                                  late, _fenced_at(pl, victim, last_ack))
    fenced = pl.output(victim).count("SIGKILL (fenced: no placement lease)")
    assert fenced >= len(mine), "%d fenced kills logged by %s for %d vassals" % (
        fenced, victim, len(mine))
    # the others started the victim's vassals only after its lease
    for name in mine:
        moved = [r for r in runs if r.vassal == name and r.member != victim and r.start > tc]
        assert moved, "%s not restarted elsewhere: %s" % (name, runs)
        assert min(r.start for r in moved) >= earliest, (
            "%s started on %s %.3f s after the cut began, inside the lease of %.3f s from its last " \
            "report (at most %.1f s before the cut)" % (name, moved[0].member,
                                                       min(r.start for r in moved) - tc0,
                                                       pl.lease, REPORT_EVERY))
    # the cut member starts nothing while cut
    assert not [r for r in runs if r.member == victim and r.start >= tc0]
    th = time.time()
    fabric.heal(victim)
    pl.note("heal", victim)
    # it rejoins empty and is given vassals again: 4/4/4
    pl.wait_answering(_even, DEADLINE)
    runs = pl.runs()
    back = [r for r in runs if r.member == victim and r.start > tc]
    assert back and min(r.start for r in back) > th, back
    _no_double_runs(pl, runs, started)
    return tc, th


def _no_double_runs(pl, runs, started):
    """Overlaps of one vassal on two members are only planned moves: the old member connected
    (not cut) from the new copy's start to the old copy's stop."""
    now = time.time()
    cuts = []
    open_cut = {}
    for kind, member, _, t in pc.marks(pl.records, ("cut", "heal")):
        if kind == "cut":
            open_cut[member] = t
        elif member in open_cut:
            cuts.append((member, open_cut.pop(member), t))
    cuts += [(m, t, now) for m, t in open_cut.items()]
    for vassal, a, b, d in pc.overlaps(runs, now):
        assert b.start >= started
        for member, c0, c1 in cuts:
            assert not (member == a.member and c0 < a.end(now) and b.start < c1), (
                "%s ran on %s and %s at once for %.3f s while %s was cut: %r %r" % (
                    vassal, a.member, b.member, d, member, a, b))
        assert d < DEADLINE, (vassal, a, b, d)


def test_a_cut_member_fences_itself_and_rejoins_empty(cluster):
    pl, fabric = cluster
    try:
        _scenario(pl, fabric)
    except BaseException:
        _dump(pl)
        raise


def _scenario(pl, fabric):
    started = pl.start_all()
    pl.wait_answering(_even, DEADLINE)
    lord = pl.wait(pl.lord, DEADLINE, "lord")
    victim = next(h for h in pl.hosts if h != lord)
    _cut_and_heal(pl, fabric, victim, started)
    # the lord's link now: the two others elect a lord, which places its vassals after its lease
    lord = pl.wait(pl.lord, DEADLINE, "lord")
    _cut_and_heal(pl, fabric, lord, started, was_lord=True)
