# The web node of the "Mako remote generator" cluster example: a WSGI app that computes a
# Fibonacci sequence from its QUERY_STRING (n=COUNT, default 10) and has the template node render
# the page. The template node's address is in the environment: MAKO_NODE=HOST:PORT.
#   brood --socket 127.0.0.1:0 --module web_node   (with MAKO_NODE set)
import os
import time

import uwsgi
from urllib.parse import parse_qs

MAKO_HOST, MAKO_PORT = os.environ.get('MAKO_NODE', '127.0.0.1:3033').rsplit(':', 1)


def mako(filename, vars):
    return uwsgi.send_uwsgi_message(MAKO_HOST, int(MAKO_PORT), 33, 17, (filename, vars), 30)


def fibonacci(count):
    seq, a, b = [], 0, 1
    for _ in range(count):
        seq.append(a)
        a, b = b, a + b
    return seq


def application(env, start_response):
    try:
        count = min(int(parse_qs(env.get('QUERY_STRING', '')).get('n', ['10'])[0]), 1000)
    except ValueError:
        start_response('400 Bad Request', [('Content-Type', 'text/plain')])
        return [b'n must be a number\n']
    my_calculated_sequence = fibonacci(count)
    page = mako('fib.html', {'fib_sequence': my_calculated_sequence, 'whattimeisit': time.time()})
    if page is None:
        start_response('502 Bad Gateway', [('Content-Type', 'text/plain')])
        return [b'the template node did not answer\n']
    start_response('200 OK', [('Content-Type', 'text/html; charset=utf-8')])
    return [page.encode('utf-8')]
