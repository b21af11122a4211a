"""Pruning of received payloads, on the beat. Imported from ``oncall/tasks.py`` so the
worker and beat (which autodiscover ``<app>.tasks`` only) know it."""

from __future__ import annotations

from datetime import timedelta

from celery import Celery, shared_task
from django.conf import settings
from django.utils import timezone

from config.celery import app

from . import actions


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def prune_alerts() -> int:
    """Delete payloads older than ALERTS_RETENTION_DAYS; idempotent."""
    return actions.prune(timezone.now() - timedelta(days=settings.ALERTS_RETENTION_DAYS))


@app.on_after_finalize.connect
def _schedule(sender: Celery, **kwargs: object) -> None:
    sender.add_periodic_task(
        settings.ALERTS_PRUNE_SECONDS, prune_alerts.s(), name="alerts: prune old payloads"
    )
