"""A legion of three brood nodes, each in its own network namespace, joined by veth pairs to a
bridge (bench/python/netns.py): the lord's link is cut and healed, and the hooks' log is checked
(docs/uwsgi-compat.md §18 Legion): the isolated lord stops being lord (its unlord hook) and never
leads alone, the two others elect a new lord with a greater epoch, no two members hold the
lordship at the same moment (their legion threads' "lord (epoch N)"/"unlord" log lines, stamped on
arrival), the old lord comes back after the heal, and every hook line carries an epoch
(BROOD_LEGION_EPOCH) that never goes back. Hook processes may start a little late (a /bin/sh on a
queue): their overlaps are the benchmark's figures, not asserted here. Needs root
(CAP_NET_ADMIN): skipped with the reason otherwise.
"""
import os
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "python"))

import legion_cluster as lc  # noqa: E402
import netns  # noqa: E402

DEADLINE = 30.0  # generous: a loaded 2-vCPU machine; speed is the benchmark's job


def _brood():
    path = os.environ.get("BROOD_BINARY")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("BROOD_BINARY must name the built brood (ctest sets it), got %r" % path)
    return path


@pytest.fixture
def legion():
    reason = netns.available()
    if reason:
        pytest.skip(reason)
    brood = _brood()
    if "--legion-node" not in subprocess.run([brood, "--help"], capture_output=True,
                                             text=True).stdout:
        pytest.skip("this brood has no legion options (--legion-node)")
    with tempfile.TemporaryDirectory(prefix="brood-legion-netns-") as tmp, \
            netns.Fabric(["m1", "m2", "m3"]) as fabric, \
            lc.Legion("brood", None, tmp, fabric, brood_bin=brood) as lg:
        yield lg, fabric
        # every member still running: none exited on its own during the test
        lg.check_alive()


def _epochs_ok(events):
    """Every hook line has a numeric epoch; lord epochs grow strictly; a member's unlord never
    names an epoch below that of its own last lord hook."""
    last_lord, mine = 0, {}
    for e in events:
        if e.kind not in lc.HOOKS.values():
            continue
        assert e.epoch is not None and e.epoch.isdigit(), "hook line without an epoch: %r" % e
        epoch = int(e.epoch)
        if e.kind == "lord":
            assert epoch > last_lord, "lord epoch %d after %d: %r" % (epoch, last_lord, e)
            last_lord = epoch
            mine[e.member] = epoch
        elif e.kind == "unlord":
            assert epoch >= mine.get(e.member, 0), "unlord epoch went back: %r" % e


def test_partition_and_heal_keep_one_lord_with_growing_epochs(legion):
    lg, fabric = legion
    t0 = time.time()
    lg.start_all()
    lg.wait_event("lord", t0, DEADLINE)
    old = lg.wait_settled(DEADLINE)
    old_epoch = int(next(e for e in reversed(lg.events())
                         if e.kind == "lord" and e.member == old).epoch)

    for round_ in range(3):
        lord = lg.wait_settled(DEADLINE)
        tc = time.time()
        fabric.cut(lord)
        lg.note(lord, "cut", tc)
        # the isolated lord steps down, the majority elects another member
        lg.wait_event("unlord", tc, DEADLINE, member=lord)
        new = lg.wait_event("lord", tc, DEADLINE, exclude=lord)
        assert int(new.epoch) > old_epoch
        # the isolated member (a minority of one) never led while cut
        th = time.time()
        fabric.heal(lord)
        lg.note(lord, "heal", th)
        assert not [e for e in lg.events()
                    if e.member == lord and e.kind == "lord" and tc < e.t < th]
        lg.wait_event("joined", th, DEADLINE, member=lord)
        settled = lg.wait_settled(DEADLINE)
        old_epoch = int(next(e for e in reversed(lg.events())
                             if e.kind == "lord" and e.member == settled).epoch)

    state = lg.state_events()
    assert [e for e in state if e.kind == "lord"], "no lord line in the members' logs"
    two = lc.overlaps(state, t0, time.time())
    assert not two, "two lords at once: %s\n%s" % (two, "\n".join(map(repr, state)))
    lord_epochs = [int(e.epoch) for e in state if e.kind == "lord"]
    assert lord_epochs == sorted(set(lord_epochs)), lord_epochs
    _epochs_ok(lg.events())


def test_fabric_is_deleted_after_use():
    reason = netns.available()
    if reason:
        pytest.skip(reason)
    with netns.Fabric(["a", "b"]) as fabric:
        names = list(fabric.made)
    left = set(netns._namespaces()) & set(names)
    assert not left, "namespaces left behind: %s" % left
