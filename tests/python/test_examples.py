"""The example clusters run: examples/fibcalc/run.sh (n**4096 over brood nodes, speedup),
examples/mako/run.sh (a web node has a template node render its page) and examples/spooler/run.sh
(web nodes enqueue tasks onto one spooler node), on small inputs. Each script starts its own
nodes and must stop them on exit."""
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
FIBCALC = os.path.join(ROOT, "examples", "fibcalc")
MAKO = os.path.join(ROOT, "examples", "mako")
SPOOLER = os.path.join(ROOT, "examples", "spooler")


@pytest.fixture(scope="module")
def build_dir(brood_binary):
    """The build tree of the brood binary under test (BUILD/cli/brood)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(brood_binary)))


def run_script(*argv, timeout=120):
    """Runs a script in its own session; kills the whole session if it overruns."""
    p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True,
                         env=dict(os.environ, PYTHON=sys.executable))
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        pytest.fail("%s overran %d s:\n%s" % (argv[0], timeout, out.decode(errors="replace")))
    return p.returncode, out.decode("utf-8", "replace")


def assert_stopped(addresses):
    """The nodes a script started no longer listen."""
    for address in addresses:
        host, port = address.rsplit(":", 1)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), 2).close()


def test_fibcalc_runs_on_one_node_and_on_three(build_dir):
    code, out = run_script(os.path.join(FIBCALC, "run.sh"), build_dir, 3, 900)
    assert code == 0, out
    nodes = re.search(r"^nodes: (.*)$", out, re.M).group(1).split()
    assert len(nodes) == 3, out
    assert re.search(r"^one node: [\d.]+ s$", out, re.M), out
    assert re.search(r"^3 nodes \(balanced split\): [\d.]+ s$", out, re.M), out
    # One range for the lone node, then three contiguous ranges covering [0, 900).
    ranges = [(int(a), int(b)) for a, b in re.findall(r"computed \[(\d+), (\d+)\) in", out)]
    assert ranges[0] == (0, 900), out
    parts = ranges[1:]
    assert len(parts) == 3 and parts[0][0] == 0 and parts[-1][1] == 900, out
    assert all(parts[i][1] == parts[i + 1][0] for i in range(2)), out
    assert re.search(r"^speedup: [\d.]+x with 3 nodes$", out, re.M), out
    assert_stopped(nodes)


def test_fibcalc_split():
    sys.path.insert(0, FIBCALC)
    try:
        import fibcalc_client
    finally:
        sys.path.remove(FIBCALC)
    assert fibcalc_client.split(0, 15000, 5, "even") == [
        [0, 3000], [3000, 6000], [6000, 9000], [9000, 12000], [12000, 15000]]
    for lo, hi, n in ((0, 15000, 2), (0, 15000, 5), (100, 1000, 3), (0, 3, 5), (0, 0, 2)):
        parts = fibcalc_client.split(lo, hi, n)
        assert len(parts) == n
        assert parts[0][0] == lo and parts[-1][1] == hi
        assert all(parts[i][1] == parts[i + 1][0] for i in range(n - 1)), parts
        assert all(a <= b for a, b in parts), parts
    lower, _ = fibcalc_client.split(0, 15000, 2)
    assert 7500 < lower[1] < 9000  # the upper numbers cost more: the lower part is longer


def test_mako_page_is_rendered_by_the_template_node(build_dir):
    code, out = run_script(os.path.join(MAKO, "run.sh"), build_dir, 7)
    assert code == 0, out
    m = re.search(r"^template node: (\S+), web node: (\S+)$", out, re.M)
    assert m, out
    assert "<h1>The first 7 Fibonacci numbers</h1>" in out
    assert re.findall(r"<li>(\d+)</li>", out) == ["0", "1", "1", "2", "3", "5", "8"]
    assert "Rendered by the template node" in out
    assert_stopped(m.groups())


def test_spooler_runs_the_tasks_the_web_nodes_enqueue(build_dir):
    code, out = run_script(os.path.join(SPOOLER, "run.sh"), build_dir, 5)
    assert code == 0, out
    m = re.search(r"^spooler node: (\S+), web nodes: (\S+) (\S+)$", out, re.M)
    assert m, out
    queued = re.findall(r"^(web\d) queued job (\d+) \(fib (\d+)\) on the spooler node$", out, re.M)
    assert [(w, int(j)) for w, j, _ in queued] == [
        ("web1", 1), ("web2", 2), ("web1", 3), ("web2", 4), ("web1", 5)], out
    ran = re.findall(r"^job (\d+) from (web\d): fib\((\d+)\) = (\d+) in [\d.]+ s "
                     r"\(spooler pid (\d+), attempt 1\)$", out, re.M)
    assert sorted((int(j), w, n) for j, w, n, _, _ in ran) == [
        (int(j), w, n) for w, j, n in queued], out
    fib = [0, 1]
    while len(fib) < 40:
        fib.append(fib[-1] + fib[-2])
    assert all(int(v) == fib[int(n)] for _, _, n, v, _ in ran), out
    assert "all 5 tasks ran on the spooler node" in out
    assert_stopped(m.groups())


def test_legion_example_elects_then_fails_over(build_dir, brood_binary):
    """examples/legion/run.sh: a lord is elected, killed, and another member's lord hook prints a
    greater epoch. Skipped by the script itself (exit 0, a note) when brood has no legion."""
    code, out = run_script(os.path.join(ROOT, "examples", "legion", "run.sh"), build_dir)
    assert code == 0, out
    if "no legion options" in out:
        pytest.skip("this brood has no legion options")
    lords = re.findall(r"^legion: (m\d) is the lord of legion demo \(epoch (\d+)\), (\d+) ms",
                       out, re.M)
    assert len(lords) == 2, out
    assert lords[0][0] != lords[1][0], out
    assert int(lords[1][1]) > int(lords[0][1]), out
    assert re.search(r"^legion: killing the lord %s " % lords[0][0], out, re.M), out
