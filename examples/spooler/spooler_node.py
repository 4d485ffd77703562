# The spooler node of the "centralized spooler" cluster example (uWSGI docs, 0.9 era): every
# web node enqueues its long-running tasks onto this one node over the network (modifier1 17),
# and its spooler processes run them.
#   brood --socket 127.0.0.1:3035 --spooler /var/spool/brood --module spooler_node
# A task is a dict of bytes: job (its number), n, web (the web node that queued it). Running it
# computes the n-th Fibonacci number (slowly, as a stand-in for real work) and appends one line
# to the file named by SPOOLER_RESULTS. The task is deleted once the function returns SPOOL_OK;
# an exception would retry it (the attempt number is task['spooler_attempt']).
import os
import time

import uwsgi

RESULTS = os.environ.get('SPOOLER_RESULTS', 'spooler_results.txt')


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def run_task(task):
    job, n, web = (task[k].decode() for k in (b'job', b'n', b'web'))
    started = time.time()
    value = fib(int(n))
    line = 'job %s from %s: fib(%s) = %d in %.2f s (spooler pid %d, attempt %d)\n' % (
        job, web, n, value, time.time() - started, os.getpid(), task['spooler_attempt'])
    with open(RESULTS, 'a') as f:
        f.write(line)
    return uwsgi.SPOOL_OK


uwsgi.spooler = run_task
