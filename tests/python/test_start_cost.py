"""What a brood process loads at start (issue 18: a vassal's start cost): libzmq and the shared
libraries it brings are loaded only by a process that joins a legion (legion/src/zmq_library.cpp),
never by a plain node, its worker or `brood --version`."""
import os
import subprocess

from support import eventually, free_port

SECRET = "s3cr3t"


def mapped(pid):
    """The paths of the files mapped by process `pid`."""
    with open("/proc/%d/maps" % pid) as f:
        return {line.split()[-1] for line in f if len(line.split()) >= 6}


def loads_zmq(pid):
    return any("libzmq" in path for path in mapped(pid))


def workers_of(pid):
    """The pids of the children of `pid`."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]


def test_brood_does_not_link_libzmq(brood_binary):
    out = subprocess.run([brood_binary, "--version"], env=dict(os.environ, LD_DEBUG="files"),
                         capture_output=True, text=True, check=True)
    loaded = [line for line in out.stderr.splitlines() if "generating link map" in line]
    assert loaded, out.stderr  # the loader did report what it mapped
    assert not [line for line in loaded if "libzmq" in line or "libsodium" in line], loaded


def test_a_plain_node_and_its_worker_never_load_libzmq(start_node, brood_binary):
    node = start_node(brood_binary, "--socket", "127.0.0.1:0", "--master", "--processes", 1)
    assert eventually(lambda: workers_of(node.pid)), node.output()
    for pid in [node.pid] + workers_of(node.pid):
        assert not loads_zmq(pid), (pid, sorted(mapped(pid)))


def test_a_legion_member_loads_libzmq_and_hears_its_peer(start_node, brood_binary):
    addresses = ["127.0.0.1:%d" % free_port() for _ in range(2)]
    nodes = []
    for i, address in enumerate(addresses):
        other = addresses[1 - i]
        nodes.append(start_node(brood_binary, "--socket", "127.0.0.1:0", "--master",
                                "--processes", 1,
                                "--legion", "web %s %d %s" % (address, i + 1, SECRET),
                                "--legion-node", "web " + other))
    # a lord is elected over ZeroMQ: the library was loaded on first use and works
    assert eventually(lambda: any(n.wait_for_line(r"legion 'web': lord \(epoch", timeout=0.1)
                                  for n in nodes), timeout=20), [n.output() for n in nodes]
    assert all(loads_zmq(n.pid) for n in nodes)
