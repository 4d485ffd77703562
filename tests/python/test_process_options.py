"""The process and file options of a node (docs/config.md, "Process and files"), with real brood
processes: chdir before the app, env, pidfile and vacuum, the unix socket's mode and owner, the
uid/gid drop (as root), need-app, the exec-* hooks, touch-reload, attach-daemon and the process
titles."""
import os
import grp
import pwd
import re
import signal
import stat
import time

import pytest

from support import eventually, write_module, wsgi_request

APP = """
    import os

    def application(environ, start_response):
        start_response("200 OK", [])
        return [("%s|%s|%d" % (os.getcwd(), os.environ.get("BROOD_T", "-"), os.getpid())).encode()]
"""


def body(reply):
    return reply.split(b"\r\n\r\n", 1)[1].decode()


def stop(node):
    node.signal(signal.SIGINT)
    assert node.wait_exit(15) == 0, node.output()


def test_chdir_before_a_relative_wsgi_file_and_env(start_node, brood_binary, tmp_path):
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    write_module(app_dir, "web", APP)
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--chdir", app_dir,
                      "--wsgi-file", "web.py", "--env", "BROOD_T=a=b", "--master")
    cwd, env, _ = body(wsgi_request(node.address, "/")).split("|")
    assert cwd == str(app_dir)
    assert env == "a=b"
    assert node.wait_for_line(r"chdir\(\) to " + str(app_dir), 1)


def test_a_missing_chdir_is_an_error(start_node, brood_binary, tmp_path):
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--chdir", tmp_path / "nope",
                      ready=None, bound=False)
    assert node.wait_exit(10) == 1
    assert node.wait_for_line("No such file or directory"), node.output()


def test_pidfile_is_written_and_vacuum_removes_it_and_the_socket(start_node, brood_binary,
                                                                  tmp_path):
    pidfile = tmp_path / "node.pid"
    sock = tmp_path / "node.sock"
    node = start_node(brood_binary, "--socket", sock, "--master", "--pidfile", pidfile,
                      "--vacuum", "--chmod-socket", "--processes", 2, bound=False)
    assert pidfile.read_text().strip() == str(node.pid)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o666
    stop(node)
    assert not pidfile.exists()
    assert not sock.exists()
    assert node.wait_for_line(r"VACUUM: pidfile removed\."), node.output()


def test_pidfile_stays_without_vacuum(start_node, brood_binary, tmp_path):
    pidfile = tmp_path / "node.pid"
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--pidfile", pidfile, "--master")
    stop(node)
    assert pidfile.exists()


def test_chmod_socket_mode(start_node, brood_binary, tmp_path):
    sock = tmp_path / "node.sock"
    start_node(brood_binary, "--socket", sock, "--chmod-socket=620", bound=False)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o620


root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def _nobody():
    return pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid


def _ids(pid):
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                ids[key] = value.split()
    return ids


@root_only
def test_chown_socket_and_uid_gid_drop(start_node, brood_binary, tmp_path):
    uid, gid = _nobody()
    sock = tmp_path / "node.sock"
    write_module(tmp_path, "web", APP)
    node = start_node(brood_binary, "--socket", sock, "--chown-socket", "nobody:nogroup",
                      "--uid", "nobody", "--gid", "nogroup", "--master", "--processes", 1,
                      "--wsgi-file", tmp_path / "web.py", "--auto-procname", bound=False)
    st = os.stat(sock)
    assert (st.st_uid, st.st_gid) == (uid, gid)
    assert node.wait_for_line(r"setgid\(\) to %d" % gid, 1)
    assert node.wait_for_line(r"setuid\(\) to %d" % uid, 1)
    worker = int(node.wait_for_line(r"spawned uWSGI worker 1 \(pid: (\d+)").group(1))
    for pid in (node.pid, worker):
        ids = _ids(pid)
        assert ids["Uid"] == [str(uid)] * 4
        assert ids["Gid"] == [str(gid)] * 4
        assert "0" not in ids["Groups"]
    stop(node)


@root_only
def test_an_unknown_user_is_an_error_naming_it(start_node, brood_binary):
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--uid", "no-such-user-x",
                      ready=None)
    assert node.wait_exit(10) == 1
    assert node.wait_for_line("user no-such-user-x not found"), node.output()


def test_need_app_exits_22_without_an_app(start_node, brood_binary, tmp_path):
    write_module(tmp_path, "noapp", "x = 1\n")
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--need-app", "--wsgi-file",
                      tmp_path / "noapp.py", ready=None, bound=False)
    assert node.wait_exit(10) == 22
    assert node.wait_for_line(r"no app loaded\. GAME OVER"), node.output()
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--need-app", "--wsgi-file",
                      tmp_path / "missing.py", ready=None, bound=False)
    assert node.wait_exit(10) == 22


def test_exec_hooks_run_in_order_and_a_failure_stops_the_node(start_node, brood_binary,
                                                              tmp_path):
    trace = tmp_path / "trace"
    write_module(tmp_path, "web", APP)
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--wsgi-file", tmp_path / "web.py",
                      "--master", "--exec-asap", "echo asap >> %s" % trace,
                      "--exec-pre-app", "echo pre-app >> %s" % trace,
                      "--hook-post-app", "exec:echo post-app >> %s" % trace,
                      "--exec-as-user", "echo as-user >> %s" % trace,
                      "--hook-master-start", "exec:echo master-start >> %s" % trace,
                      "--hook-post-fork", "exec:echo post-fork >> %s" % trace,
                      "--hook-accepting", "exec:echo accepting >> %s" % trace,
                      "--hook-as-user-atexit", "write:%s bye" % (tmp_path / "atexit"))
    expected = ["asap", "pre-app", "post-app", "as-user", "master-start", "post-fork",
                "accepting"]
    assert eventually(lambda: trace.read_text().split() == expected), trace.read_text()
    assert node.wait_for_line(r'running "echo pre-app >> .*" \(pre app\)', 1)
    stop(node)
    assert (tmp_path / "atexit").read_text() == "bye"
    failing = start_node(brood_binary, "--socket", "127.0.0.1:0", "--wsgi-file",
                         tmp_path / "web.py", "--exec-pre-app", "exit 3", ready=None,
                         bound=False)
    assert failing.wait_exit(10) == 1
    assert failing.wait_for_line('command "exit 3" exited with non-zero code: 3'), \
        failing.output()


def test_touch_reload_reloads_the_workers(start_node, brood_binary, tmp_path):
    write_module(tmp_path, "web", APP)
    touched = tmp_path / "reload.txt"
    touched.write_text("")
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--wsgi-file", tmp_path / "web.py",
                      "--processes", 2, "--touch-reload", touched)
    before = set(int(m) for m in re.findall(r"worker \d \(pid: (\d+)", node.output()))
    os.utime(touched, (time.time() + 5, time.time() + 5))
    assert node.wait_for_line(r"reload.txt has been touched\.\.\. grace them all", 5), \
        node.output()
    assert node.wait_for_line(r"workers reloaded", 10), node.output()
    after = int(body(wsgi_request(node.address, "/")).split("|")[2])
    assert after not in before


def test_attach_daemon_runs_is_respawned_and_stopped(start_node, brood_binary, tmp_path):
    log = tmp_path / "daemon.log"
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--attach-daemon",
                      "echo $$ >> %s; exec sleep 60" % log)
    assert eventually(lambda: log.exists() and log.read_text().strip())
    first = int(log.read_text().split()[0])
    os.kill(first, signal.SIGKILL)
    assert node.wait_for_line(r"\[uwsgi-daemons\] respawning", 10), node.output()
    assert eventually(lambda: len(log.read_text().split()) == 2)
    second = int(log.read_text().split()[1])
    assert second != first
    stop(node)
    assert not os.path.exists("/proc/%d" % second) or \
        open("/proc/%d/stat" % second).read().split()[2] == "Z"
    assert node.wait_for_line(r"stopping daemon \(pid: %d\)" % second), node.output()


def test_procname_titles(start_node, brood_binary):
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--processes", 2,
                      "--auto-procname", "--procname-prefix-spaced", "mysite")
    worker = int(node.wait_for_line(r"spawned uWSGI worker 2 \(pid: (\d+)").group(1))

    def cmdline(pid):
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")[0].decode()

    assert eventually(lambda: cmdline(worker) == "mysite uWSGI worker 2")
    assert cmdline(node.pid) == "mysite uWSGI master"


MOUNTED = """
    def application(environ, start_response):
        start_response("200 OK", [])
        return [("%s|%s|%s" % (NAME, environ.get("SCRIPT_NAME", ""), environ["PATH_INFO"]))
                .encode()]
"""


def _mounted_app(folder, name):
    return write_module(folder, name, 'NAME = "%s"\n' % name + __import__("textwrap").dedent(MOUNTED))


def test_mount_and_manage_script_name_route_by_the_longest_prefix(start_node, brood_binary,
                                                                    tmp_path):
    _mounted_app(tmp_path, "first")
    _mounted_app(tmp_path, "deeper")
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", tmp_path,
                      "--mount", "/a=%s" % (tmp_path / "first.py"), "--mount", "/a/b=deeper",
                      "--manage-script-name")

    def get(path, script_name=""):
        return body(wsgi_request(node.address, path, extra=[("SCRIPT_NAME", script_name)]))

    assert get("/a/x") == "first|/a|/x"
    assert get("/a/b/y") == "deeper|/a/b|/y"
    assert get("/a") == "first|/a|"
    assert get("/ab") == "first||/ab"  # not under /a: the default app (the first mount)
    assert get("/c") == "first||/c"


def test_mount_without_manage_script_name_uses_the_script_name_var(start_node, brood_binary,
                                                                   tmp_path):
    _mounted_app(tmp_path, "first")
    _mounted_app(tmp_path, "second")
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", tmp_path,
                      "--mount", "/a=first", "--mount", "/b=second:application")
    reply = wsgi_request(node.address, "/b/y", extra=[("SCRIPT_NAME", "/b")])
    assert body(reply) == "second|/b|/b/y"
    assert body(wsgi_request(node.address, "/z")) == "first||/z"


def test_virtualenv_puts_its_site_packages_on_sys_path(start_node, brood_binary, tmp_path):
    import subprocess
    import sys
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
    write_module(tmp_path, "web", """
        import sys

        def application(environ, start_response):
            start_response("200 OK", [])
            return [("%s|%s" % (sys.prefix, [p for p in sys.path if "site-packages" in p]))
                    .encode()]
    """)
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--virtualenv", venv,
                      "--wsgi-file", tmp_path / "web.py")
    prefix, path = body(wsgi_request(node.address, "/")).split("|", 1)
    assert prefix == str(venv)
    assert str(venv / "lib") in path


def test_smart_attach_daemon_follows_its_pidfile(start_node, brood_binary, tmp_path):
    pidfile = tmp_path / "d.pid"
    runs = tmp_path / "runs"
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--smart-attach-daemon",
                      "%s echo run >> %s; sleep 60 & echo $! > %s" % (pidfile, runs, pidfile))

    def live_pid():
        try:
            pid = int(pidfile.read_text())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    assert eventually(live_pid)
    first = live_pid()
    os.kill(first, signal.SIGKILL)
    assert eventually(lambda: live_pid() not in (None, first)), node.output()
    assert runs.read_text().split() == ["run", "run"]
    second = live_pid()
    stop(node)
    assert node.wait_for_line(r"stopping daemon \(pid: %d\)" % second), node.output()
    assert eventually(lambda: live_pid() is None)


def test_a_real_world_style_ini_runs(start_node, brood_binary, tmp_path):
    """A Django-style deployment ini with the options of this group together (as root it also
    drops to nobody)."""
    import subprocess
    site = tmp_path / "site"
    site.mkdir()
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(tmp_path / "venv")],
                   check=True)
    write_module(site, "mysite_wsgi", """
        import os
        import sys

        def application(environ, start_response):
            start_response("200 OK", [])
            return [("%s|%s|%s" % (os.getcwd(), os.environ["DJANGO_SETTINGS_MODULE"],
                                   sys.prefix)).encode()]
    """)
    run = tmp_path / "run"
    run.mkdir()
    as_root = os.geteuid() == 0
    ini = tmp_path / "site.ini"
    ini.write_text("""[uwsgi]
chdir = {site}
module = mysite_wsgi:application
home = {venv}
env = DJANGO_SETTINGS_MODULE=mysite.settings
master = true
processes = 2
socket = {run}/uwsgi.sock
chmod-socket = 660
{users}
vacuum = true
die-on-term = true
need-app = true
pidfile = {run}/master.pid
touch-reload = {site}/reload.txt
attach-daemon = sleep 30
auto-procname = true
procname-prefix-spaced = mysite
single-interpreter = true
thunder-lock = true
ignore-sigpipe = true
ignore-write-errors = true
disable-write-exception = true
""".format(site=site, venv=tmp_path / "venv", run=run,
           users="chown-socket = nobody:nogroup\nuid = nobody\ngid = nogroup" if as_root else ""))
    node = start_node(brood_binary, "--ini", ini, bound=False)
    reply = wsgi_request(str(run / "uwsgi.sock"), "/")
    assert body(reply) == "%s|mysite.settings|%s" % (site, tmp_path / "venv")
    assert (run / "master.pid").read_text().strip() == str(node.pid)
    if as_root:
        assert _ids(node.pid)["Uid"] == [str(_nobody()[0])] * 4
    node.signal(signal.SIGTERM)  # die-on-term
    assert node.wait_exit(15) == 0, node.output()
    assert node.wait_for_line(r"stopping daemon")
    if not as_root:  # as nobody, the master cannot reach into pytest's 0700 root-owned dirs
        assert not (run / "master.pid").exists()
