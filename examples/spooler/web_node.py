# A web node of the "centralized spooler" cluster example: a WSGI app that does not run its
# long tasks itself but enqueues them onto the spooler node, with the raw call of the uWSGI docs:
#   uwsgi.send_uwsgi_message(spooler_ip, spooler_port, 17, 0, {'key1': 'value1', ...}, 30)
# (17 is the modifier1 of spooler requests; True once the spooler node holds the task on disk.
# brood.spool(address, dict) does the same and raises on failure.)
# GET /?job=J&n=N queues job J. The spooler node's address is in SPOOLER_NODE=HOST:PORT, this
# node's name in WEB_NAME.
#   brood --socket 127.0.0.1:0 --module web_node   (with SPOOLER_NODE set)
import os
from urllib.parse import parse_qs

import uwsgi

SPOOLER_HOST, SPOOLER_PORT = os.environ.get('SPOOLER_NODE', '127.0.0.1:3035').rsplit(':', 1)
NAME = os.environ.get('WEB_NAME', 'web')


def application(env, start_response):
    q = parse_qs(env.get('QUERY_STRING', ''))
    job, n = q.get('job', ['0'])[0], q.get('n', ['20'])[0]
    if not (job.isdigit() and n.isdigit() and int(n) <= 35):
        start_response('400 Bad Request', [('Content-Type', 'text/plain')])
        return [b'job and n (at most 35) must be numbers\n']
    task = {'job': job, 'n': n, 'web': NAME}
    if not uwsgi.send_uwsgi_message(SPOOLER_HOST, int(SPOOLER_PORT), 17, 0, task, 30):
        start_response('502 Bad Gateway', [('Content-Type', 'text/plain')])
        return [b'the spooler node refused the task\n']
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%s queued job %s (fib %s) on the spooler node\n' % (NAME, job, n)).encode()]
