from celery import shared_task
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from config.health import HEARTBEAT_KEY


@shared_task(ignore_result=True)
def record_heartbeat() -> str:
    """Beat sends this every 30 s; ``/healthz`` shows when a worker last ran it."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task(ignore_result=True)
def clear_expired_sessions() -> None:
    """Beat sends this every hour: sessions kept in the database stay there, expired or
    not, until something deletes them (Django's ``clearsessions``), so the table would
    grow with every sign-in. One DELETE; running it twice deletes nothing more."""
    call_command("clearsessions")
