"""Integration keys never reach the logs. A tool that cannot send a header puts its key
in the URL (``/integrations/<kind>/<key>/``); the access logs of gunicorn and runserver
and Django's "Not Found: <path>" warnings would write it out for anyone who reads them.

``RedactKeys`` is a logging filter (``LOGGING`` in config/settings.py: runserver's
``django.server`` and ``django.request``); ``AccessLogger`` is gunicorn's logger class
(``gunicorn.conf.py``), which formats its access line from its own atoms, not from a
logging record we could filter. Imported by gunicorn's master before Django is set up:
no Django imports here.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

# Every receiver with a key in its path, present and future (heartbeat pings too).
KEY_IN_PATH = re.compile(r"(/integrations/[A-Za-z_-]+/)[^/?\s\"']+")
REDACTED = r"\1[key]"
_AUTHORIZATION = "{authorization}i"


def redact_path(text: str) -> str:
    return KEY_IN_PATH.sub(REDACTED, text)


def _redacted(value: Any) -> Any:
    return redact_path(value) if isinstance(value, str) else value


class RedactKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {name: _redacted(arg) for name, arg in record.args.items()}
        return True


class AccessLogger(Logger):
    """gunicorn's logger, with keys in paths and Bearer credentials left out of the
    access line (whatever ``access_log_format`` an operator chooses)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U", "f"):
            atoms[name] = _redacted(atoms.get(name))
        if atoms.get(_AUTHORIZATION):
            atoms[_AUTHORIZATION] = "[redacted]"
        return atoms
