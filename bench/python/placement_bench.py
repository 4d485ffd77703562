"""Benchmark of issue 18 item 9 (legion placement, `emperor = legion:NAME,DIR`): three emperors
m1, m2, m3, each in its own network namespace (netns.py, as root), share one directory of N
vassals (brood nodes, one worker, no app, each answering uWSGI's ping on its own port); the
records of every vassal's start and exit, with its member, and of the planned hand-overs the
tables show, come from placement_cluster.py.

Phases (one run, in order):
  reference  one plain emperor (`--emperor DIR`, no legion) in m1's namespace starts the same N
             vassals: time until all N answer (ref_s), the reference of startup_s.
  startup    the three emperors start at once: time until all N answer a ping in the namespace of
             the member that runs them (all_s), and until the spread is within +-1 (startup_s,
             target <= 5 s), the spread (counts per member) and startup_vs_ref.
  lord kill  (x trials) SIGKILL of the lord's emperor (its vassals die with it): time until both
             others' tables name a new lord (new_lord_ms); vassals of the survivors restarted (a
             run up at the kill that ended before the killed member came back, not a planned
             hand-over: target 0) and those moved by a planned hand-over (lord_moves); time until
             all N answer on the two (lord_all_back_s). The member restarts; balanced again
             (rejoin_balanced_s, rejoin_moves: hand-overs to it).
  member kill (x trials) SIGKILL of a member that is not the lord: time from the end of its lease
             (the kill + legion-vassal-lease: no report sent after the kill can be acknowledged)
             until all its vassals answer on the two others (after_lease_ms, target <= 2000).
  cuts       C cuts of a random member's link (its bridge port detached, netns.Fabric.cut) held
             for a random 0.5-1.5 x the lease, then healed, the next cut after another random
             0.5-1.5 x the lease: every overlap of one vassal's runs on two members (each run from
             its process's fork to its exit, placement_cluster.py; the old run forked first) is a
             planned hand-over when the old run's member logged the end of a planned hand-over of
             that vassal ("legion placement: vassal V handed over to ...": it adopted a table
             showing V leaving it, then one placing V only on the new, running member) between
             the new run's start and the old run's end (+1 s: the stamp is taken when the line is
             read); any other overlap is a double run
             (double_run_s, target 0 s; double_runs_while_cut: those whose old member was cut
             when the new copy started). handover_s: the planned overlaps' total.
--backend etcd: the same with `legion-etcd` on a single-member etcd (its own namespace, data in the
temp dir); while placement needs the ZeroMQ backend, the emperors' refusal is the result.

    python3 placement_bench.py BUILD_DIR [--vassals 100] [--cuts 100] [--trials 3]
        [--lease 3000] [--backend zmq|etcd] [--keep]

Prints "BENCH placement ..." lines. Needs root (network namespaces): otherwise it prints why.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

import cluster
import netns
import placement_cluster as pc

_EPOCH = re.compile(r"legion '%s': lord \(epoch (\d+)\)" % pc.NAME)
NEW_LORD_TIMEOUT = 30.0
DEADLINE = 120.0


def ms(seconds):
    return None if seconds is None else seconds * 1000.0


def counts_of(answering):
    return "/".join(str(len(answering[h])) for h in sorted(answering))


def planned(handed, vassal, old_member, new_start, old_end):
    """The old member's emperor logged the end of a planned hand-over of `vassal` (it stops its
    copy because the lord moved the vassal and the new copy runs) after the new copy started and
    before the old one ended (the log's stamp is taken when the harness's stamper reads the line:
    up to 1 s late under load)."""
    return any(v == vassal and m == old_member and new_start <= t <= old_end + 1.0
               for v, m, t in handed)


def aborted(taken, vassal, new_member, new_start, new_end):
    """The new member's emperor logged that it killed the new copy of a hand-over still under way
    when it fenced (it was cut before it heard the hand-over end; the old copy stays): an overlap
    the hand-over planned, cut short by the new member's lease."""
    return any(v == vassal and m == new_member and new_start <= t <= new_end + 1.0
               for v, m, t in taken)


def classify(pl, t0, t1):
    """The overlaps of runs that began within [t0, t1]: (planned, double) lists of (vassal, old,
    new, seconds, old member cut when the new copy started, a hand-over cut short by the new
    member's fence)."""
    now = time.time()
    runs = pl.runs()
    handed = pl.handed_over()
    taken = pl.handed_over("taken over from")
    cuts, open_cut = [], {}
    for kind, member, _, t in pc.marks(pl.records, ("cut", "heal")):
        if kind == "cut":
            open_cut[member] = t
        elif member in open_cut:
            cuts.append((member, open_cut.pop(member), t))
    cuts += [(m, t, now) for m, t in open_cut.items()]
    plan, double = [], []
    for vassal, a, b, d in pc.overlaps(runs, now):
        if not t0 <= b.start <= t1:
            continue
        was_cut = any(m == a.member and c0 <= b.start <= c1 for m, c0, c1 in cuts)
        cut_short = aborted(taken, vassal, b.member, b.start, b.end(now))
        entry = (vassal, a, b, d, was_cut, cut_short)
        ok = planned(handed, vassal, a.member, b.start, a.end(now)) or cut_short
        (plan if ok else double).append(entry)
    return plan, double


def settle(pl, n, timeout=DEADLINE):
    """Waits until all n answer with a spread within +-1; returns the seconds it took."""
    t = time.time()
    done, _ = pl.wait_answering(lambda c: pc.spread_ok(c, n), timeout)
    return done - t


def lord_of(pl, hosts):
    for h in hosts:
        lp = pl.placement(h)
        if lp and lp.get("lord"):
            return pl.member_of.get(lp["lord"]), lp.get("epoch", 0)
    return None, 0


def reference(args, brood, tmp, fabric):
    """A plain emperor on the same files: seconds until all answer."""
    d = os.path.join(tmp, "ref")
    os.makedirs(d)
    pl = pc.Placement(brood, d, fabric, vassals=args.vassals, lease_ms=args.lease,
                      watch_table=False)
    try:
        argv = fabric.wrap("m1", [brood, "--emperor", pl.dir])
        env = dict(os.environ, PLACEMENT_MEMBER="m1")
        with open(os.path.join(d, "emperor-ref.log"), "wb") as out:
            t0 = time.time()
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=pc._pdeathsig, env=env)
        try:
            t, _ = pl.wait_answering(lambda c: True, DEADLINE, hosts=["m1"])
            return t - t0
        finally:
            p.kill()
            p.wait()
            # wait until every vassal of it is gone (the same ports are used next)
            pl.wait(lambda: all(r.stop is not None for r in pl.runs()), 30, "reference exit")
    finally:
        pl.close()


def lord_kill(pl, n, figures, trial_figs):
    lord, epoch = pl.wait(lambda: lord_of(pl, pl.hosts)[0] and lord_of(pl, pl.hosts), 30,
                          "a lord")
    others = [h for h in pl.hosts if h != lord]
    tk = pl.kill(lord)
    # the table names a new lord on both others
    def new_lord():
        seen = []
        for h in others:
            lp = pl.placement(h)
            if not lp or not lp.get("lord") or pl.member_of.get(lp["lord"]) == lord or \
                    lp.get("epoch", 0) <= epoch:
                return None
            seen.append(lp["lord"])
        return time.time() if len(set(seen)) == 1 else None
    t_new = pl.wait(new_lord, NEW_LORD_TIMEOUT, "new lord in the table", every=0.01)
    t_back, _ = pl.wait_answering(lambda c: True, DEADLINE, hosts=others)
    time.sleep(pl.lease)  # a settled moment: late restarts would show
    runs = pl.runs()
    handed = pl.handed_over()
    taken = pl.handed_over("taken over from")
    restarted, moved = 0, 0
    for r in runs:
        if r.member in others and r.start < tk and r.stop is not None and r.stop > tk:
            if planned(handed, r.vassal, r.member, tk, r.stop):
                moved += 1
            else:
                restarted += 1
    trial_figs.setdefault("new_lord", []).append(t_new - tk)
    trial_figs.setdefault("lord_all_back", []).append(t_back - tk)
    trial_figs.setdefault("restarted", []).append(restarted)
    trial_figs.setdefault("lord_moves", []).append(moved)
    # it comes back: balanced again
    moves_before = len(pc.marks(pl.records, ("leaving",)))
    pl.start(lord)
    trial_figs.setdefault("rejoin_balanced", []).append(settle(pl, n))
    trial_figs.setdefault("rejoin_moves", []).append(
        len(pc.marks(pl.records, ("leaving",))) - moves_before)


def member_kill(pl, n, trial_figs):
    lord, _ = pl.wait(lambda: lord_of(pl, pl.hosts)[0] and lord_of(pl, pl.hosts), 30, "a lord")
    victim = random.choice([h for h in pl.hosts if h != lord])
    others = [h for h in pl.hosts if h != victim]
    tk = pl.kill(victim)
    t_back, _ = pl.wait_answering(lambda c: True, DEADLINE, hosts=others)
    trial_figs.setdefault("after_lease", []).append(t_back - (tk + pl.lease))
    trial_figs.setdefault("member_all_back", []).append(t_back - tk)
    pl.start(victim)
    settle(pl, n)


def cuts(pl, fabric, n, args, figures):
    rng = random.Random(args.seed)
    lo, hi = 0.5 * pl.lease, 1.5 * pl.lease
    ps = time.time()
    fenced_before = sum(pl.output(h).count("SIGKILL (fenced") for h in pl.hosts)
    for _ in range(args.cuts):
        victim = rng.choice(pl.hosts)
        pl.note("cut", victim)
        fabric.cut(victim)
        time.sleep(rng.uniform(lo, hi))
        fabric.heal(victim)
        pl.note("heal", victim)
        time.sleep(rng.uniform(lo, hi))
        pl.check_alive()
    pe = time.time()
    figures["cuts"] = args.cuts
    figures["cuts_s"] = "%.0f" % (pe - ps)
    try:
        figures["cuts_settle_s"] = cluster.fmt(settle(pl, n), 2)
    except TimeoutError as e:
        figures["cuts_settle_s"] = "never"
        cluster.note("after the cuts: %s" % e)
    time.sleep(pl.lease)
    plan, double = classify(pl, ps, time.time())
    figures["fenced_kills"] = sum(pl.output(h).count("SIGKILL (fenced") for h in pl.hosts) - \
        fenced_before
    figures["handovers"] = len(plan)
    figures["handover_s"] = cluster.fmt(sum(e[3] for e in plan), 3)
    figures["handover_max_ms"] = cluster.fmt(ms(max((e[3] for e in plan), default=0.0)))
    figures["handovers_aborted"] = sum(1 for e in plan if e[5])
    figures["double_runs"] = len(double)
    figures["double_run_s"] = cluster.fmt(sum(e[3] for e in double), 3)
    figures["double_runs_while_cut"] = sum(1 for e in double if e[4])
    for vassal, a, b, d, was_cut, _ in double[:10]:
        cluster.note("double run %.3f s%s: %r then %r" % (d, " (old member cut)" if was_cut
                                                          else "", a, b))


def run(args, build, tmp, fabric, figures):
    brood = os.path.join(build, "cli", "brood")
    n = args.vassals
    extra, etcd = [], None
    if args.legion_heartbeat:
        extra += ["--legion-heartbeat", str(args.legion_heartbeat)]
    if args.legion_lease:
        extra += ["--legion-lease", str(args.legion_lease)]
    if args.backend == "etcd":
        import legion_bench  # its Etcd: a single member in the fabric's "etcd" namespace
        etcd = legion_bench.Etcd(tmp, fabric)
        extra += ["--legion-etcd", "%s http://%s" % (pc.NAME, etcd.address)]
    try:
        if args.backend == "zmq":
            ref = reference(args, brood, tmp, fabric)
            figures["ref_s"] = cluster.fmt(ref, 2)
        d = os.path.join(tmp, "legion")
        os.makedirs(d)
        with pc.Placement(brood, d, fabric, vassals=n, lease_ms=args.lease, extra=extra) as pl:
            try:
                t0 = pl.start_all()
                if args.backend == "etcd":
                    # refused at start while placement needs the ZeroMQ backend: that is the result
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline and all(p.poll() is None
                                                              for p in pl.procs.values()):
                        if pl.placement(pl.hosts[0]):
                            break
                        time.sleep(0.1)
                    refused = [h for h, p in pl.procs.items() if p.poll() is not None]
                    if refused:
                        time.sleep(0.5)
                        lines = [ln for ln in pl.output(refused[0]).splitlines() if "legion" in ln]
                        figures["refused"] = '"%s"' % (lines[-1].split("] ", 1)[-1] if lines
                                                       else "exit %s" % pl.procs[refused[0]].poll())
                        return
                t_all, a = pl.wait_answering(lambda c: True, DEADLINE)
                figures["all_s"] = cluster.fmt(t_all - t0, 2)
                figures["all_spread"] = counts_of(a)
                t_bal, a = pl.wait_answering(lambda c: pc.spread_ok(c, n), DEADLINE)
                figures["startup_s"] = cluster.fmt(t_bal - t0, 2)
                figures["spread"] = counts_of(a)
                if "ref_s" in figures:
                    figures["startup_vs_ref"] = cluster.fmt((t_bal - t0) / ref, 2)
                plan, double = classify(pl, t0, time.time())
                figures["startup_handovers"] = len(plan)
                figures["startup_double_runs"] = len(double)
                trial = {}
                for _ in range(args.trials):
                    lord_kill(pl, n, figures, trial)
                for _ in range(args.trials):
                    member_kill(pl, n, trial)
                if trial:
                    figures["trials"] = args.trials
                    figures["new_lord_ms"] = "/".join(cluster.fmt(ms(x), 0) for x in trial["new_lord"])
                    figures["lord_restarted"] = "/".join(map(str, trial["restarted"]))
                    figures["lord_moves"] = "/".join(map(str, trial["lord_moves"]))
                    figures["lord_all_back_s"] = "/".join(cluster.fmt(x, 2)
                                                         for x in trial["lord_all_back"])
                    figures["rejoin_balanced_s"] = "/".join(cluster.fmt(x, 2)
                                                           for x in trial["rejoin_balanced"])
                    figures["rejoin_moves"] = "/".join(map(str, trial["rejoin_moves"]))
                    figures["after_lease_ms"] = "/".join(cluster.fmt(ms(x), 0)
                                                        for x in trial["after_lease"])
                    figures["member_all_back_s"] = "/".join(cluster.fmt(x, 2)
                                                           for x in trial["member_all_back"])
                if args.cuts:
                    cuts(pl, fabric, n, args, figures)
                plan, double = classify(pl, t0, time.time())
                figures["whole_double_runs"] = len(double)
                figures["whole_double_run_s"] = cluster.fmt(sum(e[3] for e in double), 3)
                if args.keep:
                    cluster.note("records in %s" % pl.records)
            finally:  # how many lord terms the run saw (an unsteady election shows here)
                figures["last_epoch"] = max((int(e) for h in pl.hosts
                                             for e in _EPOCH.findall(pl.output(h))), default=0)
                # last_epoch also counts failed candidacies (ZeroMQ) or etcd revisions (etcd):
                # the terms actually won, and why each lord stepped down, from the logs
                outs = [pl.output(h) for h in pl.hosts]
                figures["lord_terms"] = sum(o.count("': lord (epoch") for o in outs)
                whys = {}
                for o in outs:
                    for why in re.findall(r"stepped down \(epoch \d+\): ([^\n:]+)", o):
                        key = next((k for k, text in _WHY if text in why), "other")
                        whys[key] = whys.get(key, 0) + 1
                figures["step_downs"] = ",".join("%s:%d" % kv for kv in sorted(whys.items())) \
                    or "0"
    finally:
        if etcd:
            etcd.close()


# The election's step-down reasons (legion/src/election_*.cpp), short names for the figures.
_WHY = [("lease_not_renewed", "lease was not renewed"), ("better_member", "better member"),
        ("granted_other", "granted another"), ("higher_epoch", "higher epoch"),
        ("renewed_other", "renewed another"), ("promise_gone", "promise is gone"),
        ("shutting_down", "shutting down")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--vassals", type=int, default=100)
    ap.add_argument("--cuts", type=int, default=100)
    ap.add_argument("--trials", type=int, default=3, help="lord kills and member kills")
    ap.add_argument("--lease", type=int, default=3000,
                    help="legion-vassal-lease (ms; 3000: brood's default)")
    ap.add_argument("--legion-heartbeat", type=int, default=None,
                    help="legion-heartbeat (ms) of every emperor (default: brood's, 100)")
    ap.add_argument("--legion-lease", type=int, default=None,
                    help="legion-lease (ms) of every emperor (default: brood's, 400)")
    ap.add_argument("--backend", choices=("zmq", "etcd"), default="zmq")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--keep", action="store_true", help="keep the logs (their folder is printed)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if not 1 <= args.vassals <= 1000:
        sys.exit("placement_bench: --vassals must be 1..1000, got %d" % args.vassals)
    reason = netns.available()
    if reason:
        cluster.note("placement: %s; skipped" % reason)
        cluster.bench_line("placement", backend=args.backend, skipped='"%s"' % reason)
        return
    if args.backend == "etcd" and not shutil.which("etcd"):
        cluster.note("etcd is not installed (Debian etcd-server): skipped")
        cluster.bench_line("placement", backend="etcd", skipped='"no etcd"')
        return
    tmp = tempfile.mkdtemp(prefix="brood-placement-bench-")
    figures = {}
    started = time.time()
    hosts = ["m1", "m2", "m3"] + (["etcd"] if args.backend == "etcd" else [])
    try:
        with netns.Fabric(hosts) as fabric:
            load = " ".join("%.2f" % x for x in os.getloadavg())
            cluster.note("placement: 3 emperors in network namespaces on a veth bridge, %d brood "
                         "vassals (1 worker each) on one shared directory, backend %s, "
                         "legion-vassal-lease %d ms, election %s, trials %d, cuts %d; nothing "
                         "pinned (%d "
                         "vCPUs shared with other work, load average %s)" % (
                             args.vassals, args.backend, args.lease,
                             "heartbeat %s ms, lease %s ms" % (args.legion_heartbeat or 100,
                                                               args.legion_lease or 400),
                             args.trials, args.cuts,
                             os.cpu_count(), load))
            try:
                run(args, build, tmp, fabric, figures)
            except (RuntimeError, TimeoutError) as e:
                cluster.note("failed: %s" % e)
                figures["error"] = type(e).__name__
    finally:
        figures["seconds"] = "%.0f" % (time.time() - started)
        cluster.bench_line("placement", backend=args.backend, vassals=args.vassals,
                           lease_ms=args.lease, **figures)
        if args.keep:
            cluster.note("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
