"""What one vassal's start costs (issue 18): a plain emperor (`brood --emperor DIR`, no legion)
starts N of the placement benchmark's vassals (placement_cluster.Placement.write_vassal: one
worker, an `exec-asap` hook appending a line to a file); the figures are taken when all N answer a
uWSGI ping on loopback.

  wall_s         from the emperor's launch until all N answer (median over R runs)
  cpu_s          CPU (user+sys) used by the emperor's session at that moment: every live
                 process's own time plus the time of the children it reaped (the hooks' shells
                 and date(1)), from /proc/PID/stat (clock ticks: 10 ms resolution per process)
  cpu_ms_per_vassal  cpu_s / N in ms; user_s and sys_s split cpu_s
  exec_ms        CPU (rusage) of one `brood --version` (exec, dynamic loading, static
                 initialisation, exit: the floor of any brood process), median of 20, ms
  libs           shared objects `brood --version` maps (from LD_DEBUG=files)

    python3 vassal_cost.py BUILD_DIR [--vassals N] [--repeat R]

Prints one "BENCH vassal_cost ..." line. Nothing is pinned; run it on a quiet machine and give
the load average with its figures. The emperor runs in its own session and is SIGKILLed at the
end; its vassals die of their PR_SET_PDEATHSIG, and the run waits until every port is free.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import placement_cluster as pc  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def session_cpu(sid):
    """(user, sys) seconds of every process of session `sid`, with their reaped children."""
    user = sys_ = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        # fields[0] is field 3 (state): session is field 6, utime..cstime are fields 14-17
        if int(fields[3]) != sid:
            continue
        user += int(fields[11]) + int(fields[13])
        sys_ += int(fields[12]) + int(fields[14])
    return user / TICK, sys_ / TICK


def one_run(brood, n, tmp):
    d = os.path.join(tmp, "run")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "vassals"))
    writer = pc.Placement.__new__(pc.Placement)  # only write_vassal: no tracker, no namespaces
    writer.dir = os.path.join(d, "vassals")
    writer.records = os.path.join(d, "records.log")
    writer.ports = {pc.vassal_name(i): pc.vassal_port(pc.vassal_name(i)) for i in range(n)}
    for name in writer.ports:
        writer.write_vassal(name)
    ports = set(writer.ports.values())
    env = dict(os.environ, PLACEMENT_MEMBER="m1")
    with open(os.path.join(d, "emperor.log"), "wb") as out:
        t0 = time.monotonic()
        p = subprocess.Popen([brood, "--emperor", writer.dir], stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                             preexec_fn=pc._pdeathsig, env=env)
    try:
        answered = set()
        while answered != ports:
            if time.monotonic() - t0 > 60 or p.poll() is not None:
                raise RuntimeError("%d of %d vassals answered (emperor %s)"
                                   % (len(answered), n, p.poll()))
            answered |= pc.ping_many(ports - answered, 0.5)
        wall = time.monotonic() - t0
        user, sys_ = session_cpu(p.pid)
    finally:
        p.kill()
        p.wait()
    deadline = time.monotonic() + 30
    while pc.ping_many(ports, 0.2) and time.monotonic() < deadline:
        time.sleep(0.05)
    return wall, user, sys_


def exec_ms(brood):
    runs = []
    for _ in range(20):
        t = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([brood, "--version"], stdout=subprocess.DEVNULL, check=True)
        u = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs.append((u.ru_utime - t.ru_utime + u.ru_stime - t.ru_stime) * 1000)
    return statistics.median(runs)


def libs(brood):
    out = subprocess.run([brood, "--version"], env=dict(os.environ, LD_DEBUG="files"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True).stderr
    return sum(1 for line in out.splitlines() if "generating link map" in line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--vassals", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    brood = os.path.join(os.path.abspath(args.build), "cli", "brood")
    tmp = tempfile.mkdtemp(prefix="brood-vassal-cost-")
    try:
        runs = [one_run(brood, args.vassals, tmp) for _ in range(args.repeat)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    wall = statistics.median(r[0] for r in runs)
    cpu = [r[1] + r[2] for r in runs]
    mid = runs[cpu.index(statistics.median_low(cpu))]
    print("BENCH vassal_cost vassals=%d repeat=%d wall_s=%.2f cpu_s=%.2f user_s=%.2f sys_s=%.2f "
          "cpu_ms_per_vassal=%.1f cpu_s_all=%s exec_ms=%.1f libs=%d"
          % (args.vassals, args.repeat, wall, mid[1] + mid[2], mid[1], mid[2],
             (mid[1] + mid[2]) * 1000 / args.vassals, "/".join("%.2f" % c for c in cpu),
             exec_ms(brood), libs(brood)))


if __name__ == "__main__":
    main()
