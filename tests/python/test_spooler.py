"""Python on a brood spooler node: uwsgi.spool / send_to_spooler, the uwsgi.spooler callable (the
task dict as uWSGI 2.0 builds it, plus spooler_attempt), SPOOL_OK / RETRY / IGNORE, exceptions,
failed/, `at`, priorities, the brood.decorators, spooler_pid(s) / jobs / get_task, lazy-apps, and
remote enqueue: brood.spool from this process and send_uwsgi_message(..., 17, ...) from a web
node. Each node loads the `tasks` module of spooler_helpers.py; its tasks write JSON lines into
a temporary folder that the tests wait for."""
import os
import signal
import time

import pytest

import brood
from support import write_module
from spooler_helpers import TASKS_MODULE, get, records, wait_path, wait_records


@pytest.fixture
def app(tmp_path):
    """(folder holding tasks.py, output folder, env for the node)."""
    write_module(tmp_path, "tasks", TASKS_MODULE)
    out = tmp_path / "out"
    out.mkdir()
    return tmp_path, str(out), dict(os.environ, SPOOL_OUT=str(out))


def spooler_node(start_node, brood_binary, app, *extra, spool_dir=None):
    folder, _, env = app
    spool_dir = spool_dir or folder / "spool"
    return start_node(brood_binary, "--socket", "127.0.0.1:0", "--spooler", spool_dir,
                      "--module", "tasks", "--pythonpath", folder, "--spooler-retry-delay", 50,
                      "--spooler-retry-max-delay", 200, *extra, env=env)


def test_spool_runs_the_task_with_the_uwsgi_task_dict(start_node, brood_binary, app):
    folder, out, _ = app
    node = spooler_node(start_node, brood_binary, app)
    path = get(node, "/spool", name="basic", colour="blue")["result"]
    assert path.startswith(os.path.realpath(folder / "spool") + "/uwsgi_spoolfile_on_"), path
    (rec,) = wait_records(out, "basic", node=node)
    task = rec["task"]
    assert task["spooler_task_name"] == os.path.basename(path)
    assert task["colour"] == "blue" and task["name"] == "basic"
    assert task["spooler_attempt"] == 1 and "body" not in task
    assert rec["i_am"] is True and rec["spooler_pid"] == rec["pid"]
    wait_path(path, gone=True)  # SPOOL_OK deletes the file
    # spooler_get_task in the spooler process, with the bare task name as uWSGI passes it
    path = get(node, "/spool", name="reread", kind="get_task", extra="x")["result"]
    (rec,) = wait_records(out, "reread", node=node)
    assert rec["got"] == {"name": "reread", "kind": "get_task", "extra": "x",
                          "spooler_task_name": os.path.basename(path)}


def test_spool_with_kwargs_and_body(start_node, brood_binary, app):
    _, out, _ = app
    node = spooler_node(start_node, brood_binary, app)
    assert get(node, "/spool_kwargs", name="kw", body="raw body")["result"]
    (rec,) = wait_records(out, "kw", node=node)
    assert rec["task"]["body"] == "raw body" and rec["task"]["name"] == "kw"


def test_spool_argument_errors(start_node, brood_binary, app):
    node = spooler_node(start_node, brood_binary, app)
    assert get(node, "/bad", what="list") == {
        "error": "ValueError: The argument of spooler callable must be a dictionary"}
    assert get(node, "/bad", what="none") == {
        "error": "ValueError: spooler callable dictionary must contains only bytes"}
    err = get(node, "/spool", name="x", spooler="/no/such/dir")["error"]
    assert err.startswith("ValueError: unable to spool job"), err


def test_no_spooler_on_the_node(start_node, brood_binary, app):
    folder, _, env = app
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--module", "tasks",
                      "--pythonpath", folder, env=env)
    err = get(node, "/spool", name="x")["error"]
    assert err.startswith("ValueError: unable to spool job"), err
    assert get(node, "/info")["result"] == {"pids": [], "pid": 0, "i_am": None, "spoolers": [],
                                            "jobs": [], "freq": True}
    with pytest.raises(brood.RemoteError) as e:
        brood.spool(node.address, {"name": "refused"}, timeout=5)
    assert e.value.type == "SpoolerRefused"


def test_retry_and_exception_count_attempts(start_node, brood_binary, app):
    _, out, _ = app
    node = spooler_node(start_node, brood_binary, app)
    get(node, "/spool", name="retry", kind="retry", until="3")
    get(node, "/spool", name="raise", kind="raise", until="3")
    get(node, "/spool", name="nonint", kind="nonint", until="2")
    assert [r["task"]["spooler_attempt"] for r in wait_records(out, "retry", 3, node=node)] == [
        1, 2, 3]
    runs = wait_records(out, "raise", 3, node=node)
    assert [r["task"]["spooler_attempt"] for r in runs] == [1, 2, 3]
    assert "ValueError: deliberate failure 2" in runs[2]["task"]["brood_last_error"]
    assert "Traceback" in node.output() and "deliberate failure 1" in node.output()
    runs = wait_records(out, "nonint", 2, node=node)
    assert "not an int" in runs[1]["task"]["brood_last_error"], runs


def test_killed_spooler_process_runs_the_task_again(start_node, brood_binary, app):
    _, out, _ = app
    node = spooler_node(start_node, brood_binary, app)
    get(node, "/spool", name="killed", kind="gate", gate="never")
    (first,) = wait_records(out, "killed", node=node)
    os.kill(first["pid"], signal.SIGKILL)  # mid-task: the master respawns the process
    second = wait_records(out, "killed", 2, node=node)[1]
    assert second["pid"] != first["pid"] and second["task"]["spooler_attempt"] == 2
    assert second["task"]["brood_last_error"], second


def test_failing_task_moves_to_failed(start_node, brood_binary, app):
    folder, out, _ = app
    node = spooler_node(start_node, brood_binary, app, "--spooler-max-attempts", 2)
    path = get(node, "/spool", name="never", kind="never")["result"]
    failed = os.path.join(os.path.dirname(path), "failed", os.path.basename(path))
    wait_path(failed)
    assert len(records(out, "never")) == 2
    assert not os.path.exists(path)


def test_ignore_keeps_the_file(start_node, brood_binary, app):
    _, out, _ = app
    node = spooler_node(start_node, brood_binary, app)
    path = get(node, "/spool", name="ignored", kind="ignore")["result"]
    wait_records(out, "ignored", node=node)
    # Nothing to wait for: an ignored task is not run again before the next full scan (30 s).
    time.sleep(0.3)
    assert os.path.exists(path) and len(records(out, "ignored")) == 1


def test_at_delays_the_task(start_node, brood_binary, app):
    _, out, _ = app
    node = spooler_node(start_node, brood_binary, app)
    at = time.time() + 2
    get(node, "/spool", name="later", at="%.3f" % at)
    get(node, "/spool", name="now")
    (now,) = wait_records(out, "now", node=node)
    (later,) = wait_records(out, "later", node=node)
    # The delayed task holds back nothing else ("now" runs first, well before "at" on a quiet
    # machine; a loaded one may start it late, so its time is not compared with "at"), and it
    # runs once its second has come (the spool file's `at` has a one-second resolution).
    assert now["time"] < later["time"]
    assert int(at) <= later["time"] < at + 5


def test_priorities_run_first_and_jobs_and_get_task(start_node, brood_binary, app):
    """While a gate task holds the only spooler process, tasks pile up: spooler_jobs lists them,
    spooler_get_task reads one; once the gate opens, priority 1 runs before 5 before none."""
    _, out, _ = app
    node = spooler_node(start_node, brood_binary, app)
    gate = get(node, "/spool", name="gate", kind="gate", gate="open")["result"]
    wait_records(out, "gate", node=node)
    paths = [get(node, "/spool", name="order", n=n, **({"priority": p} if p else {}))["result"]
             for n, p in (("plain", None), ("p5", "5"), ("p1", "1"))]
    info = get(node, "/info")["result"]
    assert sorted(info["jobs"]) == sorted(paths + [gate])  # the running task's file too
    assert os.path.basename(os.path.dirname(paths[2])) == "1"
    got = get(node, "/get_task", path=paths[1])["result"]
    assert got["n"] == "p5" and got["priority"] == "5" and got["spooler_task_name"] == paths[1]
    assert get(node, "/get_task", path=paths[1] + ".nope")["result"] is None
    open(os.path.join(out, "open"), "w").close()
    runs = wait_records(out, "order", 3, node=node)
    assert [r["task"]["n"] for r in runs] == ["p1", "p5", "plain"]


def test_spooler_pids_seen_from_a_worker(start_node, brood_binary, app):
    _, out, _ = app
    node = spooler_node(start_node, brood_binary, app, "--spooler-processes", 2)
    info = get(node, "/info")["result"]
    assert len(info["pids"]) == 2 and all(info["pids"]) and info["pid"] == info["pids"][0]
    assert info["i_am"] is None and len(info["spoolers"]) == 1
    get(node, "/spool", name="who")
    (rec,) = wait_records(out, "who", node=node)
    assert rec["pid"] in info["pids"]


def test_decorators(start_node, brood_binary, app):
    _, out, _ = app
    node = spooler_node(start_node, brood_binary, app)
    note_path = get(node, "/deco_note", name="note", v="value")["result"]
    (rec,) = wait_records(out, "note", node=node)
    assert rec["task"]["v"] == "value" and rec["task"]["ud_spool_func"] == "deco_note"
    wait_path(note_path, gone=True)  # @spool: done although the function said RETRY
    add_path = get(node, "/deco_add", a=2, b=40, name="add", priority="3")["result"]
    assert os.path.basename(os.path.dirname(add_path)) == "3"
    assert wait_records(out, "add", node=node)[0]["task"] == {"sum": 42}
    get(node, "/deco_raw", name="raw")  # the function's own return: RETRY once, then OK
    assert [r["task"]["spooler_attempt"] for r in wait_records(out, "raw", 2, node=node)] == [1, 2]
    get(node, "/deco_forever", name="forever")  # RETRY forced, whatever the function says
    assert len(wait_records(out, "forever", 3, node=node)) >= 3


def test_lazy_apps_load_the_app_in_the_spooler(start_node, brood_binary, app):
    _, out, _ = app
    node = spooler_node(start_node, brood_binary, app, "--lazy-apps")
    get(node, "/spool", name="lazy")
    (rec,) = wait_records(out, "lazy", node=node)
    assert os.path.exists(os.path.join(out, "loaded-%d" % rec["pid"]))
    assert not os.path.exists(os.path.join(out, "loaded-%d" % node.pid))


def test_brood_spool_from_a_client(start_node, brood_binary, app):
    folder, out, _ = app
    node = spooler_node(start_node, brood_binary, app)
    assert brood.spool(node.address, {b"name": b"remote", "n": 7}, body=b"\x00bin", timeout=5)
    host, port = node.address.rsplit(":", 1)
    assert brood.spool((host, int(port)), {"name": "tuple", "body": "as key"})
    (rec,) = wait_records(out, "remote", node=node)
    assert rec["task"]["n"] == "7" and rec["task"]["body"] == "\x00bin"
    assert wait_records(out, "tuple", node=node)[0]["task"]["body"] == "as key"
    with pytest.raises(brood.RemoteError) as e:
        brood.spool(node.address, {"name": "x", "spooler": str(folder / "elsewhere")})
    assert e.value.type == "SpoolerRefused"
    with pytest.raises(ValueError):
        brood.spool(node.address, {"name": None})


def test_web_nodes_enqueue_with_modifier1_17(start_node, brood_binary, app):
    """The seed's centralized spooler: web nodes (no spooler) enqueue onto the spooler node
    with uwsgi.send_uwsgi_message(host, port, 17, 0, dict, 30); a node without a spooler
    refuses (None)."""
    folder, out, env = app
    spooler = spooler_node(start_node, brood_binary, app)
    webs = [start_node(brood_binary, "--socket", "127.0.0.1:0", "--module", "tasks",
                       "--pythonpath", folder, env=env) for _ in range(2)]
    for i, web in enumerate(webs):
        assert get(web, "/remote", target=spooler.address, name="from_web", key1="v%d" % i) == {
            "result": True}
    runs = wait_records(out, "from_web", 2, node=spooler)
    assert sorted(r["task"]["key1"] for r in runs) == ["v0", "v1"]
    assert {r["pid"] for r in runs}.isdisjoint(w.pid for w in webs)
    assert get(webs[0], "/remote", target=webs[1].address, name="nope") == {"result": None}
