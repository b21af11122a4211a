"""Thin Celery tasks: load an outbox row by id and deliver it once (see ``outbox.deliver``)."""

from typing import Any

from config.celery import app

from . import actions, outbox
from .maintenance import actions as maintenance_actions
from .models import ChatMessage, OutboundEmail, WebhookDelivery
from .transports import TransportError

SWEEP_SECONDS = 60.0
# A maintenance starts and ends within this of its time.
MAINTENANCE_TICK_SECONDS = 15.0
RETRY = {
    "autoretry_for": (TransportError,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "max_retries": outbox.MAX_ATTEMPTS,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


@app.task(**RETRY)
def send_email(pk: int) -> str:
    return outbox.deliver(OutboundEmail, pk, outbox.send_email_row)


@app.task(**RETRY)
def send_chat(pk: int) -> str:
    return outbox.deliver(ChatMessage, pk, outbox.send_chat_row)


@app.task(**RETRY)
def send_webhook(pk: int) -> str:
    return outbox.deliver(WebhookDelivery, pk, outbox.send_webhook_row)


@app.task
def sweep_outbox() -> int:
    """Re-enqueue what a broker outage or a dead worker left unsent (DESIGN rule 1)."""
    count = 0
    for model, task in (
        (OutboundEmail, send_email),
        (ChatMessage, send_chat),
        (WebhookDelivery, send_webhook),
    ):
        for pk in outbox.pending_rows(model):
            task.delay(pk)
            count += 1
    return count


@app.task
def remind_next_updates() -> int:
    return actions.send_due_reminders()


@app.task
def advance_maintenances() -> str:
    """Start and complete scheduled maintenances whose window opened or closed."""
    moved = maintenance_actions.advance_maintenances()
    return f"started {moved.started}, completed {moved.completed}"


@app.on_after_finalize.connect
def _schedule(sender: Any, **kwargs: Any) -> None:
    sender.add_periodic_task(SWEEP_SECONDS, sweep_outbox.s(), name="comms: sweep the outbox")
    sender.add_periodic_task(
        SWEEP_SECONDS, remind_next_updates.s(), name="comms: remind of due updates"
    )
    sender.add_periodic_task(
        MAINTENANCE_TICK_SECONDS,
        advance_maintenances.s(),
        name="comms: start and complete scheduled maintenances",
    )
