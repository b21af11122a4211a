"""``/healthz`` for load balancers and monitors: is the database there, the cache, the
broker? Each is checked on its own, so one down never hides the others: 503 naming the
failing ones, with ``Retry-After``."""

import time
from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app
from .outage import RETRY_AFTER_SECONDS

HEARTBEAT_KEY = "worker-heartbeat"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    with celery_app.connection_for_write() as conn:
        # One quick try: a monitor wants the 503 now, not after kombu's back-off.
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


def _cache() -> object:
    # Informational: the last time a worker ran the beat's heartbeat task.
    return cache.get(HEARTBEAT_KEY)


def _timed(check: Callable[[], object]) -> tuple[dict[str, object], object]:
    """The check's report, and what it read (None when it failed)."""
    started = time.perf_counter()
    try:
        found = check()
    except Exception as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}, None
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}, found


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    (database, _), (cache_check, heartbeat), (broker, _) = (
        _timed(_database),
        _timed(_cache),
        _timed(_broker),
    )
    checks = {"database": database, "cache": cache_check, "broker": broker}
    failing = [name for name, check in checks.items() if not check["ok"]]
    response = JsonResponse(
        {
            "status": "unavailable" if failing else "ok",
            "failing": failing,
            "checks": checks,
            "worker_heartbeat": heartbeat,
        },
        status=503 if failing else 200,
    )
    if failing:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
