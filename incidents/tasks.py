from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from config.health import HEARTBEAT_KEY


@shared_task(ignore_result=True)
def record_heartbeat() -> str:
    """Beat sends this every 30 s; ``/healthz`` shows when a worker last ran it."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task(ignore_result=True)
def warm_support_boards() -> str:
    """After a change: render the support boards people have open (see
    ``dashboard_views.warm_boards``). Idempotent: a board already rendered for the
    current marker is only read. The flag goes first: a change after this line queues
    another warm-up, one before it is in the marker read below."""
    from . import dashboard
    from .dashboard_views import warm_boards

    cache.delete(dashboard.WARM_FLAG)
    return f"{warm_boards()} boards checked"
