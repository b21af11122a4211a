"""Thin Celery tasks: load by id, call delivery or actions, say what happened.

All are idempotent: a page is claimed by a conditional UPDATE before it is sent, and
escalations are claimed with ``select_for_update(skip_locked=True)``. The beat tasks
are the safety net of DESIGN rules 1 and 3: a lost broker message delays a page by
one sweep, it never loses it.
"""

from __future__ import annotations

from datetime import timedelta

from celery import Celery, shared_task
from django.conf import settings
from django.utils import timezone

from config.celery import app

from . import actions, delivery


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_page(page_id: int) -> str:
    """Try the page once. A retry is the row's ``next_attempt_at``, which the sweep hands
    to a worker when it comes: one mechanism, no countdowns held by the broker."""
    outcome, _retry_in = delivery.deliver(page_id)
    return outcome


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep_pages() -> int:
    """Hand out due pages: retries whose time has come, pages of a killed worker (lease
    run out), pages whose wake-up was lost (broker down at commit)."""
    grace = timedelta(seconds=settings.ONCALL_SWEEP_GRACE_SECONDS)
    due = actions.pending_pages_due(timezone.now(), grace=grace)
    for page_id in due:
        deliver_page.delay(page_id)
    return len(due)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def escalate() -> int:
    """Fire the escalation steps whose ``next_escalation_at`` has come."""
    return actions.run_due_escalations()


@app.on_after_finalize.connect
def _schedule(sender: Celery, **kwargs: object) -> None:
    sender.add_periodic_task(
        settings.ONCALL_TICK_SECONDS, escalate.s(), name="oncall: fire due escalation steps"
    )
    sender.add_periodic_task(
        settings.ONCALL_SWEEP_SECONDS, sweep_pages.s(), name="oncall: hand out due pages"
    )


from .integrations import tasks as _integration_tasks  # noqa: E402, F401  (beat: prune payloads)
from .personal import tasks as _personal_tasks  # noqa: E402, F401  (beat: hand-off notices)
