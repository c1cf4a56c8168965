"""The WSGI entry point for production servers: ``gunicorn -c gunicorn.conf.py service.wsgi:app``.

Settings are read and validated here, once per process at import, so a bad setting stops
the server at startup with the same one-line message the command line gives.
"""

from __future__ import annotations

from . import config, logs
from .api import create_app

logs.configure()  # JSON lines with request ids; never report text
app = create_app(config.load())
