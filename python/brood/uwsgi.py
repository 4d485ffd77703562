"""uWSGI's Python API for the classic cluster examples, on brood.

`from brood import uwsgi` anywhere; inside a brood node plain `import uwsgi` gives this module.

Client side (uWSGI 0.9 semantics, docs/uwsgi-compat.md section 2.2): send_uwsgi_message and
send_multi_uwsgi_message never raise for a failed node (it gives None, in its slot for the multi
form); only an object that cannot travel raises TypeError, before anything is sent. A timeout of
0 means 1 second. Objects travel as msgpack instead of marshal (docs/protocol.md).

Node side: `uwsgi.message_manager_marshal = fn` is called as fn(obj, modifier2) for modifier1 33;
`uwsgi.register_rpc(name, fn)` exports fn for modifier1 173 (uwsgi.rpc from brood or uWSGI).

Spooler (uWSGI 2.0.21 with Python 3, docs/uwsgi-compat.md section 3): uwsgi.spool(dict) writes a task
durably into the node's spooler dir and returns its path (bytes); `uwsgi.spooler = fn` runs the
tasks in the node's spooler processes (fn(task) -> SPOOL_OK / SPOOL_RETRY / SPOOL_IGNORE).

Legion (docs/legion.md "Python API"): uwsgi.i_am_the_lord(name), uwsgi.lord_scroll(name) and
uwsgi.scrolls(name) as uWSGI, plus uwsgi.legion_epoch(name) (brood), read in any process of a
node that is a member of the legion `name`.
"""
import os
import struct
import sys
import traceback

from . import _brood
from ._spool import task_pairs

SPOOL_OK = -2
SPOOL_RETRY = -1
SPOOL_IGNORE = 0

MESSAGE_MARSHAL = 33  # modifier1 of marshalled (msgpack) messages
SPOOLER = 17  # modifier1 of remote spooler requests
RPC = 173  # modifier1 of RPC calls
_RESPONSE = 255  # modifier1 of generic replies: m2 0 failure, m2 != 0 success

# The node host reads these.
message_manager_marshal = None  # fn(obj, modifier2) -> answer, for modifier1 33
opt = {}  # the node's options
numproc = 1  # the node's worker count

# The spooler callable, run for each task in a spooler process: fn(task) -> int. task holds
# the task's vars (bytes keys and values), 'spooler_task_name' (the file name, bytes), 'body'
# (bytes) when the task has one, and 'spooler_attempt' (int, 1 on the first run; brood).
spooler = None
spoolers = ()  # the node's spooler dirs as bytes realpaths (spooler-external dirs too)
_spooler_dir = None  # in a spooler process: the dir it runs (str)

# RPC functions registered in this process: name (bytes) -> (fn, argc).
_rpc_functions = {}
# uwsgi.rpc() waits as long as uWSGI's default socket-timeout.
_rpc_timeout = 4.0


def _seconds(timeout):
    """uWSGI 0.9: a timeout of 0 (or less, or None) means 1 second."""
    timeout = float(timeout or 0)
    return timeout if timeout > 0 else 1.0


def _address(host, port):
    if isinstance(host, bytes):
        host = host.decode()
    return host if port is None else "%s:%d" % (host, port)


def _as_bytes(value, what):
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError("%s must be bytes or str, not '%s'" % (what, type(value).__name__))


def _encode_vars(d):
    """A uwsgi vars block: [u16 LE key_len][key][u16 LE val_len][val] for each item."""
    parts = []
    for key, value in d.items():
        k = _as_bytes(key, "a spooler key")
        v = _as_bytes(value, "the spooler value of %r" % (key,))
        if not k or len(k) > 0xFFFF or len(v) > 0xFFFF:
            raise ValueError("spooler key %r or its value is empty or over 65535 bytes" % (key,))
        parts += [struct.pack("<H", len(k)), k, struct.pack("<H", len(v)), v]
    return b"".join(parts)


def _encode_array(items):
    """A uwsgi array: [u16 LE len][bytes] for each item."""
    parts = []
    for item in items:
        if len(item) > 0xFFFF:
            raise ValueError("an RPC argument is over 65535 bytes")
        parts += [struct.pack("<H", len(item)), item]
    return b"".join(parts)


def _spool_remote(address, modifier2, message, timeout):
    body = _encode_vars(message)
    try:
        m1, m2, payload = _brood.send_packet(address, SPOOLER, modifier2, body, timeout)
    except _brood.Error:
        return None
    if m1 == _RESPONSE:
        return True if m2 else None
    try:
        return _brood.decode(payload)
    except ValueError:
        return None


def send_uwsgi_message(host, port, modifier1, modifier2, message, timeout=0):
    """Sends message to the node host:port and returns its answer, or None if the call failed.

    modifier1 17 with a dict enqueues a task on a remote spooler (the dict travels as a uwsgi
    vars block): True when the spooler accepted it, None otherwise. Any other modifier1 sends
    message as msgpack; a generic success reply (255, m2 != 0) gives True.
    port None: host is a whole address ("host:port" or a unix socket path).
    """
    address = _address(host, port)
    seconds = _seconds(timeout)
    if modifier1 == SPOOLER and isinstance(message, dict):
        return _spool_remote(address, modifier2, message, seconds)
    try:
        return _brood.send_message(address, modifier1, modifier2, message, seconds)
    except _brood.Error:
        return None


def send_multi_uwsgi_message(clusters, modifier1, modifier2, timeout=0):
    """Sends each (host, port, message) of clusters at once; returns a tuple of the answers in
    the same order, None in the slot of a node that failed (the others still answer)."""
    targets = [(_address(host, port), message) for host, port, message in clusters]
    answers = _brood.send_multi_message(targets, modifier1, modifier2, _seconds(timeout))
    return tuple(None if isinstance(a, _brood.Error) else a for a in answers)


# The uWSGI 0.9 names (renamed in uWSGI in 2010).
send_message = send_uwsgi_message
send_multi_message = send_multi_uwsgi_message


def register_rpc(name, fn, argc=0):
    """Exports fn as the RPC function `name`: uwsgi.rpc(node, name, *args) calls fn(*args) with
    bytes arguments; fn answers bytes (str is sent UTF-8 encoded). Returns True."""
    if not callable(fn):
        raise TypeError("RPC function %r is not callable" % (name,))
    _rpc_functions[_as_bytes(name, "an RPC name")] = (fn, argc)
    return True


def rpc_list():
    """The names of the RPC functions registered in this process (bytes, as uWSGI)."""
    return tuple(_rpc_functions)


def _rpc_invoke(name, args):
    """Runs the registered RPC function `name` (bytes or str) with args (a sequence of bytes).

    Returns its answer as bytes, or None when it answered neither bytes nor str. Raises
    LookupError for an unknown name; the function's own exceptions propagate. Used for local
    calls and by the node host for modifier1 173.
    """
    entry = _rpc_functions.get(_as_bytes(name, "an RPC name"))
    if entry is None:
        raise LookupError("no RPC function named %r" % (name,))
    answer = entry[0](*args)
    if isinstance(answer, (bytes, bytearray, memoryview)):
        return bytes(answer)
    if isinstance(answer, str):
        return answer.encode("utf-8")
    return None


def call(name, *args):
    """Calls a locally registered RPC function; None if it is unknown, fails (its traceback is
    printed) or answers neither bytes nor str."""
    byte_args = [_as_bytes(a, "an RPC argument") for a in args]
    try:
        return _rpc_invoke(name, byte_args)
    except LookupError:
        return None
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return None


def rpc(node, name, *args):
    """Calls the RPC function `name` on node ("host:port"; None or "" for this process) with
    bytes (or str) arguments. Returns the answer's bytes, or None when the call failed, as uWSGI:
    unknown function, exception in it, no answer, unreachable node, timeout."""
    if isinstance(node, bytes):
        node = node.decode()
    if not node:
        return call(name, *args)
    items = [_as_bytes(name, "an RPC name")] + [_as_bytes(a, "an RPC argument") for a in args]
    try:
        m1, _, payload = _brood.send_packet(node, RPC, 0, _encode_array(items), _rpc_timeout)
    except _brood.Error:
        return None
    if m1 == _RESPONSE or not payload:
        return None
    return payload


# ---- the spooler ----

def _describe_node(processes, spooler_dirs, external_dirs):
    """Called by the node host before the application loads."""
    global numproc, spoolers
    numproc = processes
    spoolers = tuple(os.fsencode(d) for d in _brood._spool_dirs())
    for name, dirs in (("spooler", spooler_dirs), ("spooler-external", external_dirs)):
        values = [os.fsencode(d) for d in dirs]
        if values:
            opt[name] = values[0] if len(values) == 1 else values


def _enter_spooler(directory):
    """Called by the node host in each spooler process, before lazy-apps load the app."""
    global _spooler_dir
    _spooler_dir = os.path.realpath(directory)


def spool(*args, **kwargs):
    """Writes a task durably into this node's spooler (spool(dict) or spool(key=value, ...)) and
    returns the task file's path (bytes). The special keys: `spooler` (the target dir),
    `priority` (digits: a priority subdir, run first), `at` (Unix time: not before), `body`
    (bytes: the task's raw body). Keys and values are bytes (str is UTF-8 encoded, numbers
    written in decimal). Raises ValueError as uWSGI: "The argument of spooler callable must be a
    dictionary", "spooler callable dictionary must contains only bytes", "unable to spool job".
    """
    if args:
        task = args[0]
        if not isinstance(task, dict):
            raise ValueError("The argument of spooler callable must be a dictionary")
    else:
        task = kwargs
    pairs, body = task_pairs(task, [os.fsdecode(d) for d in spoolers])
    return os.fsencode(_brood._spool_local(pairs, body))


send_to_spooler = spool


def set_spooler_frequency(seconds):
    """Accepted for uWSGI compatibility; returns True. brood's spooler starts a task as soon as
    its file appears and wakes at every `at` / retry due time, so this changes nothing: the
    full rescan period is the spooler-frequency option."""
    int(seconds)
    return True


def i_am_the_spooler():
    """True in a spooler process, else None (as uWSGI)."""
    return True if _spooler_dir is not None else None


def spooler_pids():
    """The pid of every spooler process of this node (0 for one not running); [] without."""
    return [pid for _, pid in _brood._spooler_board()]


def spooler_pid():
    """This process's pid in a spooler process, else the first spooler process's pid (0 if
    none)."""
    if _spooler_dir is not None:
        return os.getpid()
    pids = spooler_pids()
    return pids[0] if pids else 0


def _task_files(directory):
    """The task files of a spooler dir and of its numeric (priority) subdirs."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return []
    found = []
    for entry in entries:
        try:
            if entry.name.startswith("uwsgi_spoolfile_on_") and entry.is_file(follow_symlinks=False):
                found.append(os.fsencode(entry.path))
            elif entry.name.isdigit() and entry.is_dir(follow_symlinks=False):
                found.extend(_task_files(entry.path))
        except OSError:
            continue
    return found


def spooler_jobs():
    """The paths (bytes) of the tasks waiting in this spooler process's dir (elsewhere: the
    node's first spooler dir), priority subdirs included."""
    directory = _spooler_dir or (os.fsdecode(spoolers[0]) if spoolers else None)
    return _task_files(directory) if directory else []


def spooler_get_task(path):
    """The task at path as the spooler callable would get it ('spooler_task_name' is the path as
    given), or None when it is no readable task file."""
    name = os.fsencode(path)
    real = os.fsdecode(name)
    if _spooler_dir is not None and not os.path.isabs(real) and not os.path.exists(real):
        real = os.path.join(_spooler_dir, real)
    found = _brood._read_spool_file(real)
    if found is None:
        return None
    pairs, body = found
    task = dict(pairs)
    task["spooler_task_name"] = name
    if body:
        task["body"] = body
    return task


# ---- the legion ----

def i_am_the_lord(name):
    """True while this node is the lord of legion `name` (str or bytes); False otherwise, and for
    a legion this node is no member of (as uWSGI)."""
    view = _brood._legion_view(name)
    return bool(view is not None and view[0])


def lord_scroll(name):
    """The current lord's scroll (bytes) in legion `name`; None when no lord is known, the lord
    has no scroll, or this node is no member of the legion (as uWSGI)."""
    view = _brood._legion_view(name)
    return None if view is None else view[2]


def scrolls(name):
    """The scrolls (list of bytes) of legion `name`: this node's first, then those of the members
    it hears, members without a scroll left out; None when this node is no member (as uWSGI)."""
    view = _brood._legion_view(name)
    return None if view is None else view[3]


def legion_epoch(name):
    """brood: the epoch (int) of the latest lord term this node knows in legion `name` (0 before
    any lord), a fencing token that only grows; None when this node is no member of the legion."""
    view = _brood._legion_view(name)
    return None if view is None else view[1]
