"""Applying received alerts, and pruning their payloads, on the worker and the beat.
Imported from ``oncall/tasks.py`` so the worker and beat (which autodiscover
``<app>.tasks`` only) know them."""

from __future__ import annotations

from datetime import timedelta

from celery import Celery, shared_task
from django.conf import settings
from django.utils import timezone

from config.celery import app

from . import actions, heartbeats
from .actions.processing import bot_user

# The beat applies alerts left pending this often: the broker was down when they came,
# or a wake-up was lost. Each run applies all that waits, so overlapping runs are fine.
SWEEP_SECONDS = 30.0
# Heartbeat deadlines are minutes apart; a missed one is found at most this late.
HEARTBEAT_SECONDS = 30.0


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def process_alerts() -> int:
    """Apply the pending alerts (woken by ``receiving.wake_worker`` and by the beat).

    Idempotent: a run applies only pending rows, each batch in one transaction; a killed
    worker's batch rolls back and runs again."""
    return actions.process_pending()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def end_alert_storms() -> int:
    """End the alert storms whose groups stopped coming; idempotent (an ended storm is
    not ended again)."""
    return actions.end_quiet_storms(bot_user)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def prune_alerts() -> int:
    """Delete payloads older than ALERTS_RETENTION_DAYS; idempotent."""
    return actions.prune(timezone.now() - timedelta(days=settings.ALERTS_RETENTION_DAYS))


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def check_heartbeats() -> int:
    """Open alerts for heartbeats past their deadline; a second run changes nothing
    (a missed heartbeat is not due again until a ping)."""
    return heartbeats.sweep()


@app.on_after_finalize.connect
def _schedule(sender: Celery, **kwargs: object) -> None:
    sender.add_periodic_task(
        settings.ALERTS_PRUNE_SECONDS, prune_alerts.s(), name="alerts: prune old payloads"
    )
    sender.add_periodic_task(
        SWEEP_SECONDS, process_alerts.s(), name="alerts: apply alerts left pending"
    )
    sender.add_periodic_task(
        SWEEP_SECONDS, end_alert_storms.s(), name="alerts: end storms whose groups stopped"
    )
    sender.add_periodic_task(
        HEARTBEAT_SECONDS, check_heartbeats.s(), name="alerts: heartbeats past their deadline"
    )
