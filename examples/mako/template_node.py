# The template node of the "Mako remote generator" cluster example (uWSGI docs, 0.9 era):
# `brood --socket 127.0.0.1:3033 --module template_node` renders Mako templates for web nodes.
# A message (modifier1 33) is (filename, vars); the answer is the rendered text. The templates
# live in templates/ beside this file (the original used /opt/makotemplates/); only a bare file
# name is accepted, so a message cannot read files outside that folder.
import os

import uwsgi
from mako.template import Template

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'templates')


def makogenerator(obj, id):
    makofilename = os.path.basename(obj[0])
    vars = obj[1]
    return Template(filename = os.path.join(TEMPLATES, makofilename)).render(attributes = vars)

uwsgi.message_manager_marshal = makogenerator
