"""uWSGI's spooler decorators (uwsgidecorators, 2.0 with Python 3) on brood.

    from brood.decorators import spool

    @spool
    def resize(task):                 # runs in the node's spooler process
        make_thumbnail(task["image"])  # keys str, values str (bytes when not UTF-8)

    resize.spool(image="42.png")      # or resize({"image": "42.png"}): enqueues, returns the path

    @spool(pass_arguments=True)
    def send_mail(to, subject, body_text=""):
        ...

    send_mail("a@example.org", "hi", body_text="...", priority=1)   # args travel pickled

Importing this module installs its dispatcher as `uwsgi.spooler`: a task spooled by a decorated
function names it in `ud_spool_func` and runs it in the spooler process (the function must be
defined there too: load the same module in the node). The decorators:
  @spool          the task is done whatever the function returns (SPOOL_OK), unless it raises
                  (then it is retried, as every exception)
  @spoolforever   the task is run again and again (SPOOL_RETRY)
  @spoolraw       the function's own int return decides (SPOOL_OK, SPOOL_RETRY, SPOOL_IGNORE)
With pass_arguments=True the positional and keyword arguments are pickled into the `args` and
`kwargs` vars and the function is called with them; the keyword arguments spooler, priority, at
and body are taken out as the task's special keys, and message_dict (a dict) is merged into the
task. Without it, the call takes a dict (or keyword arguments) and the function gets the task
dict (with 'spooler_task_name', 'spooler_attempt' and the vars).
"""
import functools
import pickle

from . import uwsgi

# The functions tasks can name: function name -> function, as uwsgidecorators keys them.
spooler_functions = {}

_SPECIAL_KWARGS = ("message_dict", "spooler", "priority", "at", "body")


def _text(value):
    """bytes as str when they are UTF-8, else unchanged."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def manage_spool_request(task):
    """The uwsgi.spooler callable: runs the function the task names and returns its result, or
    the result its decorator forces (`ud_spool_ret`). A task not spooled by a decorated function
    of this process raises LookupError (so it is retried, and ends in failed/)."""
    vals = {_text(k): v for k, v in task.items()}
    call_args = None
    if "args" in vals:
        kwargs = vals.pop("kwargs", None)
        call_args = (pickle.loads(vals.pop("args")), pickle.loads(kwargs) if kwargs else {})
    body = vals.get("body")
    vals = {k: _text(v) for k, v in vals.items()}
    if body is not None:
        vals["body"] = body  # the raw body stays bytes
    name = vals.get("ud_spool_func")
    if name is None:
        raise LookupError("task %r names no spooler function (ud_spool_func)"
                          % vals.get("spooler_task_name"))
    f = spooler_functions.get(name)
    if f is None:
        raise LookupError("no spooler function named %r in this process" % (name,))
    ret = f(*call_args[0], **call_args[1]) if call_args is not None else f(vals)
    return int(vals.get("ud_spool_ret", ret))


class _spoolraw:
    """A decorated spooler function: calling it (or its .spool) enqueues a task."""

    _forced_ret = None  # ud_spool_ret of every task, or None: the function's return

    def __init__(self, f, pass_arguments=False):
        self.f = f
        self.pass_arguments = pass_arguments
        self.base_dict = {"ud_spool_func": f.__name__}
        if self._forced_ret is not None:
            self.base_dict["ud_spool_ret"] = str(self._forced_ret)
        spooler_functions[f.__name__] = f
        functools.update_wrapper(self, f)
        f.spool = self.__call__  # uWSGI < 1.9.13 spelling: fn.spool(...)

    def __call__(self, *args, **kwargs):
        task = dict(self.base_dict)
        if not self.pass_arguments:
            if args:
                task.update(args[0])
            task.update(kwargs)
        else:
            special = {k: kwargs.pop(k) for k in _SPECIAL_KWARGS if k in kwargs}
            task.update(special.pop("message_dict", None) or {})
            task.update(special)
            task["args"] = pickle.dumps(args)
            task["kwargs"] = pickle.dumps(kwargs)
        return uwsgi.spool(task)

    def spool(self, *args, **kwargs):
        return self(*args, **kwargs)


class _spool(_spoolraw):
    _forced_ret = uwsgi.SPOOL_OK


class _spoolforever(_spoolraw):
    _forced_ret = uwsgi.SPOOL_RETRY


def _decorate(f, pass_arguments, cls):
    if f is None:
        return functools.partial(cls, pass_arguments=pass_arguments)
    return cls(f, pass_arguments)


def spoolraw(f=None, pass_arguments=False):
    return _decorate(f, pass_arguments, _spoolraw)


def spool(f=None, pass_arguments=False):
    return _decorate(f, pass_arguments, _spool)


def spoolforever(f=None, pass_arguments=False):
    return _decorate(f, pass_arguments, _spoolforever)


uwsgi.spooler = manage_spool_request
