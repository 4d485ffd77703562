"""fork-server-warm-up (docs/config.md, docs/uwsgi-compat.md §17): a real emperor with brood's
own base naming MODULE:FUNC; FUNC() runs in every warm spare's pre-forked worker before it is
ready (so in the adopted vassal's worker 1, before its first request), never in the base or the
vassal's master; a FUNC that raises is logged and the vassal is served all the same."""

from emperor_fork_support import emperor, parent_of  # noqa: F401 (emperor is a fixture)
from support import eventually, free_port, write_module
from test_emperor_fork_server_prefork import _needs_fork_server, add_vassal, answer_pid

APP = """
import os
def warm_up():
    with open(WARM_LOG, "a") as f:
        f.write("%d\\n" % os.getpid())
def broken():
    raise ValueError("warm-up went wrong")
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("pid=%d" % os.getpid()).encode()]
"""


def started(emperor, brood_binary, tmp_path, warm_ups):
    _needs_fork_server(brood_binary)
    e = emperor(fake=False)
    write_module(tmp_path, "warmapp", "WARM_LOG = %r\n%s" % (str(tmp_path / "warm.log"), APP))
    e.vassal_file("base.ini", "[uwsgi]\nfork-server = %s\nmodule = warmapp\npythonpath = %s\n%s"
                  % (e.sock, tmp_path, "".join("fork-server-warm-up = %s\n" % w
                                              for w in warm_ups)))
    e.start()
    assert eventually(lambda: "fork server: spare ready" in e.node.output(), 60), \
        e.node.output()
    return e


def warmed_pids(tmp_path):
    try:
        return {int(x) for x in (tmp_path / "warm.log").read_text().split()}
    except OSError:
        return set()


def test_the_warm_up_runs_in_the_pre_forked_worker_before_the_request(emperor, brood_binary,
                                                                      tmp_path):
    e = started(emperor, brood_binary, tmp_path, ["warmapp:warm_up"])
    a = "127.0.0.1:%d" % free_port()
    add_vassal(e, "a.ini", "[uwsgi]\nsocket = %s\nmaster = true\nprocesses = 1\n" % a)
    assert eventually(lambda: answer_pid(a) is not None, 30), e.node.output()
    worker = answer_pid(a)
    master = e.vassal("a.ini")["pid"]
    base = e.vassal("base.ini")["pid"]
    assert parent_of(worker) == master
    warmed = warmed_pids(tmp_path)
    assert worker in warmed, (worker, warmed, e.node.output())
    assert master not in warmed and base not in warmed, (master, base, warmed)
    assert "fork-server-warm-up" not in e.node.output()  # no error logged


def test_a_warm_up_that_raises_is_logged_and_the_vassal_still_serves(emperor, brood_binary,
                                                                     tmp_path):
    e = started(emperor, brood_binary, tmp_path, ["warmapp:broken", "warmapp:warm_up"])
    assert eventually(lambda: "fork-server-warm-up warmapp:broken" in e.node.output(), 30), \
        e.node.output()
    assert "warm-up went wrong" in e.node.output()
    a = "127.0.0.1:%d" % free_port()
    add_vassal(e, "a.ini", "[uwsgi]\nsocket = %s\nmaster = true\nprocesses = 1\n" % a)
    assert eventually(lambda: answer_pid(a) is not None, 30), e.node.output()
    assert answer_pid(a) in warmed_pids(tmp_path)  # the next warm-up still ran
