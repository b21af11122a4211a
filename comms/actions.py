"""Every change communications make: drafts, review, publishing, subscriptions, and the
messages (e-mail, chat, webhooks) they cause.

Each action is one transaction. Messages are outbox rows written in that transaction and
sent after commit (see ``outbox``), so a rolled-back change never sends anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext

from incidents import actions as incident_actions
from incidents import entry_texts, events
from incidents.actions import ActionRefused
from incidents.models import OPEN_STATUSES, EntryKind, Incident, Product, Role, Status
from incidents.selectors import current_roles

from . import access, chat_lines, mail, selectors
from .content import (
    checklist,
    external_name,
    needs_checklist,
    site_url,
    template_fields,
    topic,
)
from .entry_texts import facts_of
from .maintenance.selectors import products_under_maintenance
from .models import (
    Audience,
    ChatMessage,
    ChatWebhook,
    Communication,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    Kind,
    OutboundEmail,
    PageStatus,
    State,
    StatusPageIncident,
    Subscriber,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from .outbox import queue

__all__ = ["ActionRefused"]

# Drafting, review, publishing ---------------------------------------------------------

EDITABLE_FIELDS = (
    "summary",
    "current_status",
    "next_steps",
    "customer_impact",
    "internal_customers_affected",
    "external_customers_affected",
    "root_cause",
    "eta",
    "next_update",
    "next_update_at",
    "page_status",
    "component_status",
)


def _record(incident: Incident, by: User | None, text_id: str, **facts: Any) -> None:
    # The facts of a shape of comms.entry_texts: each reader sees it in their language.
    data = entry_texts.facts(text_id, **facts)
    incident_actions.record_app_event(
        incident, kind=EntryKind.COMMS, text=entry_texts.english(data), by=by, **data
    )


@transaction.atomic
def draft_communication(
    incident: Incident, *, audience: str, kind: str, by: User, **fields: Any
) -> Communication:
    if audience not in Audience.values:
        raise ActionRefused(gettext("Choose internal or external."), field="audience")
    if kind not in Kind.values:
        raise ActionRefused(gettext("Choose initial, follow-up or final."), field="kind")
    if audience == Audience.EXTERNAL and incident.restricted:
        raise ActionRefused(
            gettext("Restricted incidents are never shown on the public status page."),
            field="audience",
        )
    values = template_fields(incident, audience=audience, kind=kind)
    values.update({name: value for name, value in fields.items() if name in EDITABLE_FIELDS})
    communication = Communication.objects.create(
        incident=incident, audience=audience, kind=kind, author=by, **values
    )
    _record(incident, by, "comms.drafted", who=by.get_username(), **facts_of(communication))
    return communication


def _lock(communication: Communication) -> Communication:
    return (
        Communication.objects.select_for_update()
        .select_related("incident")
        .get(pk=communication.pk)
    )


@transaction.atomic
def update_communication(communication: Communication, *, by: User, **fields: Any) -> Communication:
    current = _lock(communication)
    if current.is_published:
        raise ActionRefused(gettext("A published communication cannot change; write a follow-up."))
    changed = [name for name in EDITABLE_FIELDS if name in fields]
    for name in changed:
        setattr(current, name, fields[name])
    if changed:
        current.save(update_fields=[*changed, "updated_at"])
    return current


@transaction.atomic
def request_review(communication: Communication, *, reviewer: User, by: User) -> Communication:
    current = _lock(communication)
    if current.is_published:
        raise ActionRefused(gettext("This communication is already published."))
    if reviewer.pk == by.pk:
        raise ActionRefused(gettext("Ask someone else for a second opinion."), field="reviewer")
    incident = current.incident
    if (
        incident.restricted
        and not Incident.objects.visible_to(reviewer).filter(pk=incident.pk).exists()
    ):
        # The request mails the summary: only to someone who may see the incident.
        raise ActionRefused(
            gettext("%(reviewer)s may not see this restricted incident.")
            % {"reviewer": reviewer.get_username()},
            field="reviewer",
        )
    if not access.can_publish(reviewer, current.incident):
        # The reviewer publishes: someone who cannot would leave the draft stuck.
        raise ActionRefused(
            gettext("%(reviewer)s cannot publish; ask an incident or communications manager.")
            % {"reviewer": reviewer.get_username()},
            field="reviewer",
        )
    current.state = State.IN_REVIEW
    current.review_requested_from = reviewer
    current.save(update_fields=["state", "review_requested_from", "updated_at"])
    if reviewer.email:
        url = site_url(reverse("comms:communication", args=[current.pk]))
        with mail.speaking(mail.reader_of(reviewer)):
            queue(
                OutboundEmail,
                [
                    OutboundEmail(
                        communication=current,
                        to=reviewer.email,
                        subject=gettext("Review requested: %(subject)s")
                        % {"subject": current.subject},
                        text=gettext(
                            "%(who)s asks you to review the %(communication)s of %(key)s "
                            "before it goes out:\n\n%(summary)s\n\n"
                            "Review and publish it here: %(url)s\n"
                        )
                        % {
                            "who": by.get_username(),
                            "communication": current.label,
                            "key": current.incident.key,
                            "summary": current.summary,
                            "url": url,
                        },
                        message_id=_message_id("review", current.pk, reviewer.pk, uuid.uuid4()),
                    )
                ],
                "send_email",
            )
    _record(
        current.incident,
        by,
        "comms.review_asked",
        who=by.get_username(),
        reviewer=reviewer.get_username(),
        **facts_of(current),
    )
    return current


@transaction.atomic
def publish_communication(communication: Communication, *, by: User) -> Communication:
    """Publish to its status page, e-mail its audience, post to chat and webhooks."""
    current = _lock(communication)
    incident = Incident.objects.select_for_update().get(pk=current.incident_id)
    if current.is_published:
        raise ActionRefused(gettext("This communication is already published."), conflict=True)
    if current.audience == Audience.EXTERNAL and incident.restricted:
        raise ActionRefused(
            gettext("Restricted incidents are never shown on the public status page.")
        )
    if needs_checklist(current):
        for check in checklist(current):
            if not check.done:
                raise ActionRefused(
                    gettext("%(item)s is missing: %(hint)s")
                    % {"item": check.label, "hint": check.hint},
                    field=check.field,
                )
    if not current.summary.strip():
        raise ActionRefused(gettext("Write the message first."), field="summary")
    reviewer = None
    if current.state == State.IN_REVIEW and by.pk != current.author_id:
        reviewer = by
    if (
        current.audience == Audience.EXTERNAL
        and settings.COMMS_EXTERNAL_REVIEW_REQUIRED
        and reviewer is None
    ):
        raise ActionRefused(
            gettext(
                "External updates need a review: send it for review to someone else, who publishes."
            )
        )
    now = timezone.now()
    if current.kind == Kind.FINAL:
        current.page_status = PageStatus.RESOLVED
        current.next_update_at = None
    page, shown_before = _update_page(incident, current, now)
    current.page_incident = page
    current.state = State.PUBLISHED
    current.reviewer = reviewer
    current.published_by = by
    current.published_at = now
    current.save()
    if current.audience == Audience.EXTERNAL:
        shown = set(page.products.values_list("pk", flat=True))
        refresh_components(shown | shown_before, now, update=current, named=shown)
    _record(
        incident,
        by,
        "comms.published",
        who=by.get_username(),
        reviewed_by=reviewer.get_username() if reviewer else None,
        summary=current.summary,
        communication=current.pk,
        **facts_of(current),
    )
    _mail_communication(current)
    _post_chat(incident, lambda: chat_lines.published(current))
    _queue_webhooks(
        WebhookEvent.COMMUNICATION_PUBLISHED,
        incident,
        communication={
            "id": current.pk,
            "audience": current.audience,
            "kind": current.kind,
            "summary": current.summary,
            "published_at": now.isoformat(),
        },
    )
    return current


def _update_page(
    incident: Incident, communication: Communication, now: datetime
) -> tuple[StatusPageIncident, set[int]]:
    """The incident's page for the update's audience, and the products it showed before."""
    name = str(incident) if communication.audience == Audience.INTERNAL else external_name(incident)
    # Created and updated at the same moment: never updated before it was created.
    page, _ = StatusPageIncident.objects.get_or_create(
        incident=incident,
        audience=communication.audience,
        defaults={"name": name, "created_at": now, "updated_at": now},
    )
    page.name = name
    page.status = communication.page_status
    page.updated_at = now
    page.resolved_at = now if communication.page_status == PageStatus.RESOLVED else None
    page.save()
    shown_before = set(page.products.values_list("pk", flat=True))
    page.products.set(incident.affected_products.all())
    return page, shown_before


@transaction.atomic
def refresh_components(
    product_ids: Iterable[int],
    now: datetime,
    *,
    update: Communication | None = None,
    named: Collection[int] = (),
) -> None:
    """Each product's status from what is going on now: the worst its unresolved public
    incidents give it (each one's newest update, never just the latest update's: a minor
    incident's update never hides an open outage) and "under maintenance" while a
    maintenance runs on it; operational when neither is left.

    Publishing an ``update`` that ``named`` these products (its page shows them): one
    that no open incident gives a status takes the update's own (a final update's
    "operational"), or keeps its status when the update sets none; every product is
    recorded in its history with the update.

    Inside the caller's transaction when there is one, its own otherwise: the product
    locks must hold until it commits (DESIGN rule 7)."""
    ids = sorted(set(product_ids))
    # Two changes on one product at once (two updates, an update and a maintenance): the
    # second waits here for the first to commit, then reads its status, so neither
    # writes a worst status computed without the other.
    list(Product.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    open_statuses = selectors.open_incident_statuses(ids)
    maintained = products_under_maintenance(ids)
    for product_id in ids:
        statuses = list(open_statuses.get(product_id, ()))
        if update is not None and not statuses and product_id in named:
            if not update.component_status:
                _set_component(product_id, None, now, update=update)
                continue
            statuses.append(update.component_status)
        if product_id in maintained:
            statuses.append(ComponentStatus.MAINTENANCE)
        status = selectors.worst_status(statuses) or ComponentStatus.OPERATIONAL
        _set_component(product_id, status, now, update=update)


def _set_component(
    product_id: int, status: str | None, now: datetime, *, update: Communication | None = None
) -> Component:
    """Set the status (None keeps it) and record it in the component's history: every
    change, and every product a published update names even when unchanged, so that
    update reports its old and new status."""
    component, created = Component.objects.select_for_update().get_or_create(
        product_id=product_id,
        defaults={
            "status": status or ComponentStatus.OPERATIONAL,
            "created_at": now,
            "updated_at": now,
        },
    )
    old = "" if created else component.status
    if status is not None and not created and component.status != status:
        component.status = status
        component.updated_at = max(now, component.created_at)
        component.save(update_fields=["status", "updated_at"])
    if update is not None or old != component.status:
        ComponentStatusChange.objects.create(
            component=component,
            old_status=old,
            new_status=component.status,
            changed_at=max(now, component.created_at),
            update=update,
        )
    return component


@transaction.atomic
def set_component_status(product: Product, *, status: str, by: User) -> Component:
    if status not in ComponentStatus.values:
        raise ActionRefused(
            gettext("Unknown component status %(status)r.") % {"status": status}, field="status"
        )
    return _set_component(product.pk, status, timezone.now())


# E-mail -------------------------------------------------------------------------------


_message_id = mail.message_id


def _mail_communication(communication: Communication) -> None:
    queue(OutboundEmail, mail.communication_emails(communication), "send_email")


# Next-update reminders ----------------------------------------------------------------


def _reminder_recipients(incident: Incident) -> list[User]:
    """The communications managers, or the IM when there is none (HANDBOOK §7)."""
    holders = current_roles(incident)
    comms = [h.person for h in holders if h.role.lower().startswith("communications manager")]
    people = comms or [h.person for h in holders if h.role.lower() == "incident manager"]
    if not people and incident.assignee is not None:
        people = [incident.assignee]
    by_address = {person.email: person for person in people if person.email}
    return [by_address[address] for address in sorted(by_address)]


@transaction.atomic
def send_due_reminders() -> int:
    """Remind whoever publishes that a promised update is due soon; once per promise,
    and only for the newest published update of an open incident."""
    lead = timezone.now() + timedelta(minutes=settings.COMMS_REMINDER_MINUTES)
    newer = Communication.objects.filter(
        incident=OuterRef("incident"),
        state=State.PUBLISHED,
        published_at__gt=OuterRef("published_at"),
    )
    due = (
        Communication.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            state=State.PUBLISHED,
            reminded_at__isnull=True,
            next_update_at__lte=lead,
            incident__status__in=OPEN_STATUSES,
        )
        .exclude(Exists(newer))
        .select_related("incident")
    )
    count = 0
    for communication in due:
        incident = communication.incident
        url = site_url(incident.get_absolute_url())
        rows = []
        for person in _reminder_recipients(incident):
            with mail.speaking(mail.reader_of(person)):
                # Never None here: the query asked for next_update_at__lte.
                due_at = mail.local_time(communication.next_update_at)  # type: ignore[arg-type]
                text = gettext(
                    "The next update on %(key)s is due %(due)s (%(where)s).\n\n"
                    "Draft it here: %(url)s\n"
                ) % {
                    "key": incident.key,
                    "due": due_at,
                    "where": communication.next_update or gettext("as promised"),
                    "url": url,
                }
                rows.append(
                    OutboundEmail(
                        communication=communication,
                        to=person.email,
                        subject=gettext("Update due: %(subject)s")
                        % {"subject": communication.subject},
                        text=text,
                        message_id=_message_id("reminder", communication.pk, person.email),
                    )
                )
        queue(OutboundEmail, rows, "send_email")
        communication.reminded_at = timezone.now()
        communication.save(update_fields=["reminded_at"])
        _record(incident, None, "comms.reminded", **facts_of(communication))
        count += 1
    return count


# Subscriptions ------------------------------------------------------------------------


@transaction.atomic
def subscribe(email: str, *, products: Iterable[Product] = (), language: str = "") -> Subscriber:
    """Double opt-in: a confirmation mail; subscribing again re-sends it, and an already
    confirmed subscriber just gets the new product choice. ``language``: the one its
    mail is written in (empty: the status page's), chosen before the confirmation only:
    the form is open to anyone, who must not pick the language of someone else's mail."""
    if language and language not in dict(settings.LANGUAGES):
        raise ActionRefused(gettext("Choose one of the offered languages."), field="language")
    email = email.strip().lower()
    subscriber, _ = Subscriber.objects.get_or_create(email=email)
    subscriber.products.set(products)
    if language and subscriber.language != language and not subscriber.confirmed:
        subscriber.language = language
        subscriber.save(update_fields=["language"])
    if subscriber.confirmed:
        return subscriber
    context = {
        "confirm_url": site_url(reverse("comms:confirm", args=[subscriber.confirm_token])),
        "unsubscribe_url": mail.unsubscribe_url(subscriber),
        "page_name": settings.COMMS_STATUS_PAGE_NAME,
    }
    with mail.speaking(mail.subscriber_reader(subscriber)):
        confirmation = OutboundEmail(
            to=email,
            subject=gettext("Confirm your subscription to %(page)s")
            % {"page": settings.COMMS_STATUS_PAGE_NAME},
            text=render_to_string("comms/email/confirm.txt", context),
            html=render_to_string("comms/email/confirm.html", context),
            message_id=_message_id("confirm", subscriber.pk, uuid.uuid4()),
            headers=mail.subscriber_headers(subscriber, bulk=False),
        )
    queue(OutboundEmail, [confirmation], "send_email")
    return subscriber


@transaction.atomic
def confirm_subscription(token: str) -> Subscriber | None:
    subscriber = Subscriber.objects.select_for_update().filter(confirm_token=token).first()
    if subscriber is not None and subscriber.confirmed_at is None:
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["confirmed_at"])
    return subscriber


@transaction.atomic
def unsubscribe(token: str) -> bool:
    """``token`` is the signed one of the mail's link; a second request finds nobody."""
    stored = mail.subscriber_token(token)
    if stored is None:
        return False
    deleted, _ = Subscriber.objects.filter(unsubscribe_token=stored).delete()
    return bool(deleted)


# Chat and webhooks, from incident events ----------------------------------------------


def _team_webhook(incident: Incident) -> ChatWebhook | None:
    team = incident.faulty_service.team
    if team is None:
        return None
    return ChatWebhook.objects.filter(team=team, active=True).first()


def _post_chat(incident: Incident, line: Callable[[], str], *, with_topic: bool = False) -> None:
    """Post ``line()`` to the team's chat, written in the destination's language."""
    if incident.restricted:
        # Nothing at all, not even a redacted line: the team's room is wider than the
        # people involved, and its key, room name or the bare news that a restricted
        # incident moved tells the room what it must not know. The people involved get
        # the e-mails and the portal.
        return
    hook = _team_webhook(incident)
    if hook is None:
        return
    title = f"#{incident.chat_room or incident.key}"
    with mail.speaking(mail.Reader(hook.language)):
        text = line()
        if with_topic:
            text = chat_lines.with_topic(text, topic(incident))
    queue(
        ChatMessage,
        [ChatMessage(webhook=hook, incident=incident, title=title, text=text)],
        "send_chat",
    )


def incident_payload(incident: Incident) -> dict[str, Any]:
    """What outside tools learn (never about a restricted incident: see below)."""
    return {
        "key": incident.key,
        "summary": incident.summary,
        "severity": incident.severity,
        "status": incident.status,
        "restricted": incident.restricted,
        "url": site_url(incident.get_absolute_url()),
    }


def _queue_webhooks(event: str, incident: Incident, **data: Any) -> None:
    if incident.restricted:
        # Nothing: an outside tool is shared by everyone who reads it, and a restricted
        # incident's key, link, severity or a published update's text (``data``) would
        # reach people who are not involved. Those involved follow it in the portal.
        return
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "event": event,
        "created_at": timezone.now().isoformat(),
        "data": {"incident": incident_payload(incident), **data},
    }
    rows = [
        WebhookDelivery(webhook=hook, event=event, event_id=event_id, payload=payload)
        for hook in Webhook.objects.filter(active=True)
        if event in hook.events
    ]
    queue(WebhookDelivery, rows, "send_webhook")


def offer_final_update(incident: Incident, *, by: User | None) -> Communication | None:
    """Resolving does not resolve the public page: until the external final update is
    published it says the incident is ongoing. Draft that update from its template for
    whoever resolved it, once (an unpublished one is reused), so the portal and the API
    can offer it (``selectors.final_update_steps``). Nobody to author it (a system
    change), or no public page to close: nothing to draft."""
    if by is None or incident.restricted or selectors.open_public_page(incident) is None:
        return None
    draft = selectors.pending_final_update(incident)
    if draft is not None:
        return draft
    return draft_communication(incident, audience=Audience.EXTERNAL, kind=Kind.FINAL, by=by)


def on_incident_event(event: events.IncidentEvent) -> None:
    """Runs inside the incident action's transaction: rows commit or roll back with it."""
    incident = event.incident
    who = event.by.get_username() if event.by is not None else None
    if event.name == events.CREATED:
        _post_chat(
            incident,
            lambda: chat_lines.created(incident, who),
            with_topic=True,
        )
        _queue_webhooks(WebhookEvent.CREATED, incident)
    elif event.name == events.SEVERITY_CHANGED:
        previous = event.data.get("previous")
        _post_chat(
            incident,
            lambda: chat_lines.severity_changed(incident, previous, who),
            with_topic=True,
        )
        _queue_webhooks(WebhookEvent.SEVERITY_CHANGED, incident, previous=previous)
    elif event.name == events.STATUS_CHANGED:
        previous = event.data.get("previous")
        _post_chat(
            incident,
            lambda: chat_lines.status_changed(incident, who),
            with_topic=True,
        )
        _queue_webhooks(WebhookEvent.STATUS_CHANGED, incident, previous=previous)
        if incident.status == Status.RESOLVED:
            _queue_webhooks(WebhookEvent.RESOLVED, incident)
            offer_final_update(incident, by=event.by)
    elif event.name in (events.ASSIGNEE_CHANGED, events.ROLE_CHANGED):

        def line() -> str:
            # The role's label in the chat's language, read again under it.
            return chat_lines.role_changed(incident, role_facts(event), who)

        _post_chat(incident, line, with_topic=True)
        # Webhook payloads keep the source language's words, whoever changed the role.
        with translation.override(settings.LANGUAGE_CODE):
            facts = role_facts(event)
        _queue_webhooks(WebhookEvent.ROLE_CHANGED, incident, role=facts)


def role_facts(event: events.IncidentEvent) -> dict[str, Any]:
    """Which role changed, how, and whom it is about (``person``: who holds it now, or
    on ``released`` who gave it up); ``from`` on a hand-over.

    A change of the assignee is announced without the role's facts (the event says only
    who held it before), but the assignee is always the incident manager: the facts are
    rebuilt from the incident, so ``incident.role_changed`` always names the role."""
    data = event.data
    if event.name == events.ROLE_CHANGED:
        # A role's label may be a lazy translation: the payload is stored as JSON.
        told = {
            key: str(data[key]) if isinstance(data[key], Promise) else data[key]
            for key in ("action", "role", "label", "person", "from")
            if key in data
        }
        told.setdefault("person", None)
        if told.get("role") in Role.values and told["role"] != Role.CUSTOM:
            # The label came in the actor's language: named again in the active one.
            told["label"] = str(Role(told["role"]).label)
        return told
    previous: User | None = data.get("previous")
    holder = event.incident.assignee
    facts: dict[str, Any] = {
        "role": Role.INCIDENT_MANAGER.value,
        "label": str(Role.INCIDENT_MANAGER.label),
    }
    if previous is None and holder is not None:
        claimed = event.by is not None and holder.pk == event.by.pk
        facts.update(action="claimed" if claimed else "assigned", person=holder.get_username())
    elif holder is not None and previous is not None:
        facts.update(
            action="handed_over", person=holder.get_username(), **{"from": previous.get_username()}
        )
    else:
        facts.update(action="released", person=previous.get_username() if previous else None)
    return facts


SUBSCRIBED_EVENTS = (
    events.CREATED,
    events.SEVERITY_CHANGED,
    events.STATUS_CHANGED,
    events.ASSIGNEE_CHANGED,
    events.ROLE_CHANGED,
)
