"""``/healthz`` for load balancers and monitors: is the database there, is the broker?"""

import time
from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app

HEARTBEAT_KEY = "worker-heartbeat"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    with celery_app.connection_for_write() as conn:
        # One quick try: a monitor wants the 503 now, not after kombu's back-off.
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


def _timed(check: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "broker": _timed(_broker)}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "checks": checks,
            # Informational: the last time a worker ran the beat's heartbeat task.
            "worker_heartbeat": cache.get(HEARTBEAT_KEY),
        },
        status=200 if healthy else 503,
    )
