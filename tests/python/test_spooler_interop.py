"""Spool files shared with real uWSGI 2.0.21 (Debian uwsgi-core + uwsgi-plugin-python3): tasks
that uWSGI's uwsgi.spool wrote run on a brood spooler (Python), tasks that brood's uwsgi.spool and
remote enqueue wrote run on uWSGI's spooler, and brood.spool enqueues onto a uWSGI spooler over
the network. uWSGI is always stopped with SIGKILL (SIGTERM makes it reload)."""
import os
import shutil
import textwrap

import pytest

import brood
from support import write_module
from spooler_helpers import TASKS_MODULE, get, wait_path, wait_records

PLUGINS = "/usr/lib/uwsgi/plugins"

# Spools tasks with uWSGI's own uwsgi.spool at import time, then says so.
UWSGI_WRITER = textwrap.dedent("""\
    import uwsgi
    paths = [
        uwsgi.spool({b"name": b"by_uwsgi", b"n": b"1"}),
        uwsgi.spool({b"name": b"by_uwsgi", b"n": b"2", b"body": b"\\x00raw\\xffbody"}),
        uwsgi.spool({b"name": b"by_uwsgi", b"n": b"3", b"priority": b"4"}),
    ]
    print("UWSGI SPOOLED", b" ".join(paths).decode(), flush=True)
    """)

# uWSGI's spooler callable: one JSON line per task, bytes shown as latin-1 text.
UWSGI_RUNNER = textwrap.dedent("""\
    import json
    import os
    import uwsgi

    def text(v):
        return v.decode("latin-1") if isinstance(v, bytes) else v

    def run(task):
        entry = {"task": {text(k): text(v) for k, v in task.items()}, "pid": os.getpid()}
        name = text(task.get(b"name", b"unnamed"))
        with open(os.path.join(os.environ["SPOOL_OUT"], name + ".jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\\n")
        return uwsgi.SPOOL_OK

    uwsgi.spooler = run
    """)


@pytest.fixture
def uwsgi_binary():
    plugins = [os.path.join(PLUGINS, p) for p in ("python3_plugin.so", "spooler_plugin.so")]
    if not shutil.which("uwsgi") or not all(os.path.exists(p) for p in plugins):
        pytest.skip("real uWSGI is not installed (Debian uwsgi-core, uwsgi-plugin-python3)")
    return shutil.which("uwsgi")


@pytest.fixture
def app(tmp_path):
    for name, source in (("tasks", TASKS_MODULE), ("uwsgi_writer", UWSGI_WRITER),
                         ("uwsgi_runner", UWSGI_RUNNER)):
        write_module(tmp_path, name, source)
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, SPOOL_OUT=str(out), PYTHONDONTWRITEBYTECODE="1")
    return tmp_path, str(out), env


def start_uwsgi(start_node, binary, folder, env, *args, ready):
    return start_node(binary, "--plugin", "python3,spooler", "--socket", "127.0.0.1:0",
                      "--pythonpath", folder, *args, ready=ready, env=env)


def start_uwsgi_spooler(start_node, binary, folder, env, spool):
    return start_uwsgi(start_node, binary, folder, env, "--master", "--spooler", spool,
                       "--spooler-frequency", 1, "--spooler-ordered", "--import",
                       "uwsgi_runner", ready=r"spawned uWSGI worker 1")


def test_uwsgi_written_tasks_run_on_brood(start_node, uwsgi_binary, brood_binary, app):
    folder, out, env = app
    spool = folder / "spool"
    spool.mkdir()
    writer = start_uwsgi(start_node, uwsgi_binary, folder, env, "--spooler-external", spool,
                         "--import", "uwsgi_writer", ready=r"UWSGI SPOOLED")
    paths = writer.wait_for_line(r"UWSGI SPOOLED (.*)").group(1).split()
    writer.stop()  # SIGKILL
    assert len(paths) == 3 and all(os.path.exists(p) for p in paths)
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--spooler", spool, "--module",
                      "tasks", "--pythonpath", folder, env=env)
    runs = {r["task"]["n"]: r["task"] for r in wait_records(out, "by_uwsgi", 3, node=node)}
    assert runs["2"]["body"] == "\x00raw\ufffdbody"  # the raw body (shown as UTF-8 text)
    assert runs["3"]["priority"] == "4"
    assert {runs[n]["spooler_task_name"] for n in runs} == {os.path.basename(p) for p in paths}
    for p in paths:
        wait_path(p, gone=True)


def test_brood_written_tasks_run_on_uwsgi(start_node, uwsgi_binary, brood_binary, app):
    folder, out, env = app
    spool = folder / "spool"
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--spooler-external", spool,
                      "--module", "tasks", "--pythonpath", folder, env=env)
    written = [get(node, "/spool", name="by_brood", n="1")["result"],
               get(node, "/spool_kwargs", name="by_brood", n="2", body="brood body")["result"],
               get(node, "/spool", name="by_brood", n="3", priority="7")["result"]]
    assert brood.spool(node.address, {"name": "by_brood", "n": "4"}, timeout=5)
    node.stop()
    assert all(os.path.exists(p) for p in written)
    uwsgi = start_uwsgi_spooler(start_node, uwsgi_binary, folder, env, spool)
    runs = {r["task"]["n"]: r["task"] for r in wait_records(out, "by_brood", 4, node=uwsgi)}
    assert sorted(runs) == ["1", "2", "3", "4"]
    assert runs["2"]["body"] == "brood body"
    assert runs["3"]["priority"] == "7"
    assert runs["1"]["brood_checksum"].startswith("crc32:")  # an ordinary var for uWSGI
    for p in written:
        wait_path(p, gone=True)


def test_brood_spool_onto_a_uwsgi_spooler(start_node, uwsgi_binary, app):
    folder, out, env = app
    uwsgi = start_uwsgi_spooler(start_node, uwsgi_binary, folder, env, folder / "spool")
    assert brood.spool(uwsgi.address, {"name": "to_uwsgi", "k": "v"}, body=b"payload",
                       timeout=5)
    (run,) = wait_records(out, "to_uwsgi", node=uwsgi)
    assert run["task"]["k"] == "v" and run["task"]["body"] == "payload"
    with pytest.raises(brood.RemoteError) as e:
        brood.spool(uwsgi.address, {"name": "x", "spooler": str(folder / "unknown")}, timeout=5)
    assert e.value.type == "SpoolerRefused"
