"""Thin tasks of personal on-call: send a test page, tell hand-offs, post them to chat.

Each takes ids and is idempotent: outbox rows are claimed by ``comms.outbox.deliver``
(a conditional UPDATE with a lease); notices are unique per roster and shift start.
"""

from __future__ import annotations

from celery import Celery, shared_task

from comms import outbox
from comms.transports import TransportError
from config.celery import app

from . import handoffs, rules
from .models import HandoffNotice, TestPage

TICK_SECONDS = 60.0
RETRY = {
    "autoretry_for": (TransportError,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "max_retries": outbox.MAX_ATTEMPTS,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_test_page(pk: int) -> str:
    return outbox.deliver(TestPage, pk, rules.deliver_test_page)


@shared_task(ignore_result=True, **RETRY)
def post_handoff_notice(pk: int) -> str:
    return outbox.deliver(HandoffNotice, pk, handoffs.post_to_chat)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def tell_handoffs() -> int:
    """Write the notices of shifts just started, and re-post those a dead worker or a
    broker outage left unsent."""
    written = handoffs.send_due_notices()
    for pk in outbox.pending_rows(HandoffNotice):
        post_handoff_notice.delay(pk)
    for pk in outbox.pending_rows(TestPage):
        deliver_test_page.delay(pk)
    return written


@app.on_after_finalize.connect
def _schedule(sender: Celery, **kwargs: object) -> None:
    sender.add_periodic_task(TICK_SECONDS, tell_handoffs.s(), name="oncall: hand-off notices")
