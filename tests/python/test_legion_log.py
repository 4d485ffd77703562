"""The reading of the legion benchmark's hook log (bench/python/legion_cluster.py): lord
intervals from lord/unlord hooks and the harness's kill lines, and the seconds with two lords.
Pure: no processes."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "python"))

import legion_cluster as lc  # noqa: E402


def ev(member, kind, t, epoch=None):
    return lc.Event(member, kind, t, epoch)


def test_intervals_end_at_unlord_or_kill_and_stay_open_otherwise():
    events = [ev("m1", "lord", 1), ev("m1", "unlord", 3), ev("m2", "lord", 4),
              ev("m2", "killed", 6), ev("m3", "lord", 7)]
    assert lc.lord_intervals(events) == [("m1", 1, 3), ("m2", 4, 6), ("m3", 7, None)]
    assert lc.lord_at(events) == ["m3"]
    assert lc.lord_at(events, 5) == ["m2"]


def test_a_repeated_lord_hook_does_not_restart_the_term():
    events = [ev("m1", "lord", 1), ev("m1", "lord", 2), ev("m1", "unlord", 3)]
    assert lc.lord_intervals(events) == [("m1", 1, 3)]


def test_two_lord_seconds_sum_overlaps_inside_the_window():
    events = [ev("m1", "lord", 1), ev("m2", "lord", 2), ev("m1", "unlord", 3.5),
              ev("m3", "lord", 5), ev("m2", "killed", 6)]
    assert lc.two_lord_seconds(events, 0, 10) == (2.5, 2)
    assert lc.two_lord_seconds(events, 3, 10) == (1.5, 2)  # clipped to the window
    assert lc.two_lord_seconds(events, 0, 1.5) == (0.0, 0)


def test_handover_at_the_same_instant_is_not_two_lords():
    events = [ev("m1", "lord", 1), ev("m1", "unlord", 2), ev("m2", "lord", 2)]
    assert lc.two_lord_seconds(events, 0, 5) == (0.0, 0)


def test_read_events_parses_hook_lines_and_skips_garbage(tmp_path):
    log = tmp_path / "events.log"
    log.write_text("m2 lord 5.5 7\nnot a line\nm1 joined 2.25 -\nm3 unlord x 1\nm1 start 1.0 -\n")
    events = lc.read_events(str(log))
    assert [(e.member, e.kind, e.t, e.epoch) for e in events] == [
        ("m1", "start", 1.0, None), ("m1", "joined", 2.25, None), ("m2", "lord", 5.5, "7")]
