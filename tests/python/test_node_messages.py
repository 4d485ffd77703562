"""Python inside a brood node: loading (--module, preload, lazy-apps), `import uwsgi`, and
uwsgi.message_manager_marshal answering modifier1 33."""
import os
import subprocess
import textwrap

import pytest

import brood
from support import write_module

SERVER = """
    import os
    import sys
    import uwsgi  # plain import, as the classic examples do

    IMPORT_PID = os.getpid()

    def handler(obj, modifier2):
        if obj == "raise":
            raise ValueError("bad thing %d" % modifier2)
        if obj == "pids":
            return [IMPORT_PID, os.getpid()]
        if obj == "alias":
            return sys.modules["uwsgi"] is sys.modules["brood.uwsgi"]
        if obj == "untravelable":
            return {1, 2}
        return [obj, modifier2]

    uwsgi.message_manager_marshal = handler
"""


@pytest.fixture
def app_dir(tmp_path):
    write_module(tmp_path, "my_server", SERVER)
    return tmp_path


def start(start_node, brood_binary, app_dir, *extra):
    return start_node(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", app_dir,
                      "--module", "my_server", *extra)


def test_marshal_echo_and_modifier2(start_node, brood_binary, app_dir):
    node = start(start_node, brood_binary, app_dir)
    assert brood.send_message(node.address, 33, 17, {"a": [1, (2, 3)]}) == [{"a": [1, (2, 3)]}, 17]
    assert brood.send_message(node.address, 33, 0, 2 ** 200) == [2 ** 200, 0]
    assert brood.send_message(node.address, 33, 255, b"\x00bytes") == [b"\x00bytes", 255]


def test_import_uwsgi_is_brood_uwsgi(start_node, brood_binary, app_dir):
    node = start(start_node, brood_binary, app_dir)
    assert brood.send_message(node.address, 33, 0, "alias") is True


def test_handler_exception_is_a_remote_error_and_the_worker_goes_on(start_node, brood_binary,
                                                                    app_dir):
    node = start(start_node, brood_binary, app_dir, "--master", "--processes", 1)
    pid_before = brood.send_message(node.address, 33, 0, "pids")[1]
    with pytest.raises(brood.RemoteError) as info:
        brood.send_message(node.address, 33, 7, "raise")
    assert info.value.type == "ValueError"
    assert info.value.message == "bad thing 7"
    assert node.wait_for_line(r"^Traceback \(most recent call last\):") is not None
    assert node.wait_for_line(r'raise ValueError\("bad thing %d" % modifier2\)') is not None
    assert node.wait_for_line(r"^ValueError: bad thing 7$") is not None
    assert brood.send_message(node.address, 33, 1, "next") == ["next", 1]
    assert brood.send_message(node.address, 33, 0, "pids")[1] == pid_before


def test_answer_that_cannot_travel_is_a_remote_type_error(start_node, brood_binary, app_dir):
    node = start(start_node, brood_binary, app_dir)
    with pytest.raises(brood.RemoteError) as info:
        brood.send_message(node.address, 33, 0, "untravelable")
    assert info.value.type == "TypeError"
    assert "set" in info.value.message


def test_no_marshal_handler(start_node, brood_binary, tmp_path):
    write_module(tmp_path, "quiet", "VALUE = 1\n")
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--pp", tmp_path, "-w", "quiet")
    with pytest.raises(brood.RemoteError) as info:
        brood.send_message(node.address, 33, 0, "x")
    assert info.value.type == "brood.NoHandler"


def test_preload_imports_once_in_the_master(start_node, brood_binary, app_dir):
    node = start(start_node, brood_binary, app_dir, "--processes", 2)
    seen = set()
    for _ in range(8):
        import_pid, worker_pid = brood.send_message(node.address, 33, 0, "pids")
        assert import_pid == node.pid
        assert worker_pid != node.pid
        seen.add(worker_pid)
    assert node.count_lines(r"Traceback") == 0


def test_lazy_apps_import_in_each_worker(start_node, brood_binary, app_dir):
    node = start(start_node, brood_binary, app_dir, "--processes", 2, "--lazy-apps")
    for _ in range(8):
        import_pid, worker_pid = brood.send_message(node.address, 33, 0, "pids")
        assert import_pid == worker_pid
        assert worker_pid != node.pid


def test_single_process_without_master(start_node, brood_binary, app_dir):
    node = start(start_node, brood_binary, app_dir)
    assert brood.send_message(node.address, 33, 0, "pids") == [node.pid, node.pid]


def test_ini_file_with_uwsgi_plugin_lines(start_node, brood_binary, app_dir):
    ini = app_dir / "node.ini"
    ini.write_text(textwrap.dedent("""
        [uwsgi]
        plugins = python3
        plugin = python
        socket = 127.0.0.1:0
        pythonpath = %s
        module = my_server
        master = true
        processes = 2
    """ % app_dir))
    node = start_node(brood_binary, "--ini", ini)
    assert brood.send_message(node.address, 33, 3, "ini") == ["ini", 3]


def run_brood(brood_binary, *args, cwd=None):
    return subprocess.run([brood_binary, *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30, cwd=cwd)


def test_other_plugins_are_refused(brood_binary, app_dir):
    done = run_brood(brood_binary, "--socket", "127.0.0.1:0", "--plugin", "python3,http",
                     "--module", "my_server")
    assert done.returncode == 2
    assert "plugin 'http'" in done.stderr


def test_module_that_fails_to_import_stops_the_node(brood_binary, tmp_path):
    write_module(tmp_path, "broken", """
        import os
        raise RuntimeError("cannot start here")
    """)
    done = run_brood(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", tmp_path,
                     "--module", "broken", "--processes", 2)
    assert done.returncode == 1
    assert "Traceback (most recent call last):" in done.stderr
    assert 'raise RuntimeError("cannot start here")' in done.stderr
    assert "RuntimeError: cannot start here" in done.stderr
    assert "node ready" not in done.stderr


def test_missing_module_and_missing_callable(brood_binary, app_dir):
    done = run_brood(brood_binary, "--socket", "127.0.0.1:0", "--module", "no_such_module_here")
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'no_such_module_here'" in done.stderr
    done = run_brood(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", app_dir,
                     "--module", "my_server:nope")
    assert done.returncode == 1
    assert "my_server has no attribute 'nope'" in done.stderr


def test_module_found_in_the_current_directory(start_node, brood_binary, app_dir):
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--module", "my_server",
                      cwd=app_dir)
    assert brood.send_message(node.address, 33, 0, "cwd") == ["cwd", 0]


def test_lazy_apps_load_failure_ends_the_worker_with_status_22(start_node, brood_binary,
                                                                tmp_path):
    write_module(tmp_path, "broken", "raise RuntimeError('lazy failure')\n")
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", tmp_path,
                      "--module", "broken", "--lazy-apps", "--master", ready=None)
    assert node.wait_for_line(r"RuntimeError: lazy failure") is not None
    assert node.wait_for_line(r"exited with status 22") is not None


def test_reload_forks_new_workers_from_the_loaded_code(start_node, brood_binary, app_dir):
    import signal
    node = start(start_node, brood_binary, app_dir, "--processes", 2)
    before = {brood.send_message(node.address, 33, 0, "pids")[1] for _ in range(6)}
    node.signal(signal.SIGHUP)
    assert node.wait_for_line(r"workers reloaded \(reload 1\)") is not None
    for _ in range(6):
        import_pid, worker_pid = brood.send_message(node.address, 33, 0, "pids")
        assert import_pid == node.pid
        assert worker_pid not in before


def test_stop_runs_the_masters_atexit_handlers(start_node, brood_binary, tmp_path):
    import signal
    write_module(tmp_path, "with_atexit", """
        import atexit
        import os
        MASTER = os.getpid()

        @atexit.register
        def bye():
            if os.getpid() == MASTER:
                print("atexit in the master", flush=True)
    """)
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--pythonpath", tmp_path,
                      "--module", "with_atexit", "--processes", 2)
    node.signal(signal.SIGTERM)
    assert node.wait_exit() == 0
    assert node.wait_for_line(r"^atexit in the master$", timeout=1) is not None
