"""Network namespaces for the legion benchmark and tests: members on separate network stacks of one
machine, joined by veth pairs to a bridge that lives in a namespace of its own, so a member's link
can be cut and healed without touching the machine's own interfaces.

    with Fabric(["m1", "m2", "m3"]) as fab:       # needs root (CAP_NET_ADMIN)
        fab.address("m1")                         # "10.213.77.1"
        argv = fab.wrap("m1", ["uwsgi", ...])     # ["ip", "netns", "exec", NS, "uwsgi", ...]
        fab.cut("m1"); fab.heal("m1")

Layout: namespace "<prefix>-br" holds bridge br0 and one port "v-<host>" per member; namespace
"<prefix>-<host>" holds that member's end "eth0" with 10.213.77.<n>/24 and its own loopback. No
namespace has a default route: nothing sent by a member can leave this machine. A cut detaches the
member's port from the bridge (its own link stays up, as when a switch upstream fails: frames are
dropped silently, no reset, no carrier change); a heal attaches it again.

The prefix holds this process's pid ("brl<pid>"); close() deletes every namespace (their veth
pairs go with them), and is also run at exit and by SIGTERM/SIGINT; namespaces left by a process
that died without cleaning up (SIGKILL) are deleted by the next Fabric (sweep_stale()).
"""
import atexit
import os
import re
import signal
import subprocess

SUBNET = "10.213.77"  # this harness's own addresses, inside its namespaces only
_STALE = re.compile(r"^brl(\d+)-\S+")


def available():
    """None when namespaces can be made here, else the reason (for a skip message)."""
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN); running as uid %d" % os.geteuid()
    if subprocess.run(["ip", "-V"], capture_output=True).returncode != 0:
        return "the ip command (iproute2) is missing"
    return None


def _ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def _namespaces():
    r = _ip("netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def sweep_stale():
    """Deletes namespaces of this harness whose owning process is gone."""
    for ns in _namespaces():
        m = _STALE.match(ns)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            _ip("netns", "del", ns, check=False)


class Fabric:
    def __init__(self, hosts, subnet=SUBNET):
        reason = available()
        if reason:
            raise RuntimeError(reason)
        sweep_stale()
        self.prefix = "brl%d" % os.getpid()
        self.hosts = list(hosts)
        self.subnet = subnet
        self.bridge_ns = self.prefix + "-br"
        self.made = []
        self._closed = False
        atexit.register(self.close)
        self._old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        for s in self._old:
            signal.signal(s, self._on_signal)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _on_signal(self, signum, frame):
        self.close()
        old = self._old.get(signum)
        if callable(old):
            old(signum, frame)
        raise SystemExit(128 + signum)

    def _add_ns(self, name):
        _ip("netns", "add", name)
        self.made.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def _build(self):
        self._add_ns(self.bridge_ns)
        _ip("-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.bridge_ns, "link", "set", "br0", "up")
        for i, host in enumerate(self.hosts):
            ns = self.ns(host)
            self._add_ns(ns)
            port = self._port(host)
            _ip("-n", self.bridge_ns, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                "netns", ns)
            _ip("-n", self.bridge_ns, "link", "set", port, "master", "br0")
            _ip("-n", self.bridge_ns, "link", "set", port, "up")
            _ip("-n", ns, "addr", "add", "%s/24" % self.address(host), "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")

    def ns(self, host):
        return "%s-%s" % (self.prefix, host)

    def _port(self, host):
        return "v-%s" % host[:12]

    def address(self, host):
        return "%s.%d" % (self.subnet, self.hosts.index(host) + 1)

    def wrap(self, host, argv):
        """argv run inside host's namespace (ip netns exec execs it: the pid is the program's)."""
        return ["ip", "netns", "exec", self.ns(host), *[str(a) for a in argv]]

    def cut(self, host):
        _ip("-n", self.bridge_ns, "link", "set", self._port(host), "nomaster")

    def heal(self, host):
        _ip("-n", self.bridge_ns, "link", "set", self._port(host), "master", "br0")

    def close(self):
        if self._closed:
            return
        self._closed = True
        for name in reversed(self.made):
            _ip("netns", "del", name, check=False)
        self.made = []
        for s, old in self._old.items():
            try:
                signal.signal(s, old)
            except (ValueError, TypeError):
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
