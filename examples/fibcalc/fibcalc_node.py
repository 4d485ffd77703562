# The compute node of the "CPU Ultra-Intensive task" cluster example (uWSGI docs, 0.9 era), as
# it was written: `brood --socket 127.0.0.1:3431 --module fibcalc_node` runs it. Every message
# (modifier1 33) is a range [start, end); the node computes n**4096 for each n in it and answers
# the seconds it took.
import time
import uwsgi

def calc(n):
    return n**4096

def calcfunc(vars, id):
    starttime = time.time()
    for x in range(vars[0],vars[1]):
        calc(x)
    return time.time()-starttime

uwsgi.message_manager_marshal = calcfunc
