"""Customer follow-up e-mails (support issue): when an incident is resolved, and for
cases labelled after that, every labelled case's customer gets one e-mail through the
outbox. ``incidents`` says who and what (``incidents.support.follow_up``); comms sends.

Exactly once: the cases are locked, only those without ``followed_up_at`` are mailed,
and the message id (unique in the outbox) is derived from the case and the incident.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction

from incidents import events
from incidents.models import Incident, Status
from incidents.support import actions as support_actions
from incidents.support import follow_up as incident_follow_up
from incidents.support.models import SupportCase

from .mail import Reader, customer_readers, speaking
from .mail import message_id as _message_id
from .models import OutboundEmail
from .outbox import queue


def on_incident_event(event: events.IncidentEvent) -> None:
    """Runs in the resolving or labelling transaction, so mails roll back with it."""
    incident = event.incident
    if event.name == events.STATUS_CHANGED and incident.status != Status.RESOLVED:
        return
    if not incident_follow_up.should_follow_up(incident):
        return
    case_ids = event.data.get("case_ids") if event.name == events.CASES_LABELLED else None
    send_follow_ups(incident, case_ids)


@transaction.atomic
def send_follow_ups(incident: Incident, case_ids: list[int] | None = None) -> int:
    """Queue one mail per case due a follow-up; the cases stay locked until they are
    marked, so two resolutions never mail a customer twice."""
    cases = list(incident_follow_up.due_cases(incident, case_ids).select_for_update())
    if not cases:
        return 0
    # Customers are known by address only: each reads the language they chose when they
    # subscribed to the status page, else the page's. One rendering per language.
    readers = customer_readers(case.contact_email for case in cases)
    by_reader: dict[Reader, list[SupportCase]] = defaultdict(list)
    for case in cases:
        by_reader[readers[case.contact_email]].append(case)
    mails = []
    for reader, readers_cases in by_reader.items():
        with speaking(reader):
            mails += incident_follow_up.messages(incident, readers_cases)
    queue(
        OutboundEmail,
        [
            OutboundEmail(
                to=mail.to,
                subject=mail.subject,
                text=mail.text,
                message_id=_message_id("follow-up", incident.pk, mail.case.pk),
            )
            for mail in mails
        ],
        "send_email",
    )
    support_actions.mark_followed_up([case.pk for case in cases])
    return len(cases)


SUBSCRIBED_EVENTS = (events.STATUS_CHANGED, events.CASES_LABELLED)
