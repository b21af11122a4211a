"""While the database or the cache is down, every request answers 503 with ``Retry-After``
and a short reason, instead of a bare 500: JSON ``{"detail": ...}`` under ``/api/`` (and
for clients that do not take HTML), a page for people.

The page extends ``base.html`` but is rendered without the request, so no context
processor runs: no signed-in user, no navigation, nothing that would read the database
or the cache that is down.

The first read of most requests is the session, in ``LoginRequiredMiddleware``'s
``process_view``, and Django turns an exception there into a 500 before any middleware
sees it. So the error is noted where Django reports it (``got_request_exception``, sent
for every uncaught exception, views' or middleware's) and the 500 is replaced on its way
out. Errors raised by views are answered in ``process_exception`` directly.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext, gettext_noop
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# A monitor or browser told to come back: long enough for a restart or a fail-over.
RETRY_AFTER_SECONDS = 30

REASONS: list[tuple[tuple[type[BaseException], ...], str, str]] = [
    (
        (OperationalError, InterfaceError),
        "database",
        gettext_noop("The database is not answering."),
    ),
    (
        (RedisConnectionError, RedisTimeoutError),
        "cache",
        gettext_noop("The cache is not answering."),
    ),
]

# SQLite reports a schema that does not match the code (a migration not run) as an
# OperationalError too: a bug, answered 500, not an outage to wait out.
SCHEMA_ERRORS = ("no such table", "no such column", "has no column named", "syntax error")

# Where the failing dependency is noted between the signal and the middleware.
_NOTED = "_outage"


def outage_of(error: BaseException) -> tuple[str, str] | None:
    """(dependency, reason) when the error means a dependency is down, else None."""
    if isinstance(error, OperationalError) and str(error).startswith(SCHEMA_ERRORS):
        return None
    for kinds, dependency, reason in REASONS:
        if isinstance(error, kinds):
            return dependency, reason
    return None


def outage_response(request: HttpRequest, dependency: str, reason: str) -> HttpResponse:
    reason = gettext(reason)
    detail = gettext("%(reason)s Hotline is unavailable for a moment; try again shortly.") % {
        "reason": reason
    }
    response: HttpResponse
    if request.path.startswith("/api/") or not request.accepts("text/html"):
        response = JsonResponse({"detail": detail, "unavailable": dependency}, status=503)
    else:
        html = render_to_string(
            "503.html",
            {"reason": reason, "dependency": dependency, "retry_after": RETRY_AFTER_SECONDS},
        )
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _note(sender: object, request: HttpRequest | None = None, **_: Any) -> None:
    """Receiver of ``got_request_exception``: sent inside Django's ``except`` block, so
    the exception being handled is the one that made the 500."""
    error = sys.exc_info()[1]
    if request is not None and error is not None and (found := outage_of(error)):
        setattr(request, _NOTED, found)


got_request_exception.connect(_note, dispatch_uid="config.outage.note")


class OutageMiddleware:
    """Turns the 500 of a database or cache outage into a 503 with a reason. Place it
    before (outside) every middleware that reads the database or the cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        noted = getattr(request, _NOTED, None)
        if noted is not None and response.status_code >= 500:
            return outage_response(request, *noted)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        found = outage_of(exception)
        if found is None:
            return None
        logger.warning(
            "%s unavailable: %s %s", found[0], request.method, request.path, exc_info=exception
        )
        return outage_response(request, *found)
