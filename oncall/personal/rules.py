"""Personal notification rules and test pages: their write path (actions) and the chain
that delivery follows.

A rule says "page me on this contact method N minutes after the page was written":
delivery (``oncall.delivery``) sends each channel once its delay has passed and the page
is still pending, so acknowledging within five minutes stops the five-minute rule.
A person without rules for a chain keeps the old behaviour: every contact method at once.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from comms.transports import TransportError, chat, email, webhook
from incidents.actions import ActionRefused
from incidents.models import Severity

from ..models import ContactKind, ContactMethod, shown_target, without_target
from .models import MAX_DELAY_MINUTES, Chain, NotificationRule, TestPage


def chain_for_severity(severity: int) -> str:
    return Chain.MAJOR if severity in (Severity.CRITICAL, Severity.MAJOR) else Chain.MINOR


def chain(user: User, severity: int) -> list[tuple[ContactMethod, timedelta]]:
    """The person's contact methods for an incident of ``severity``, each with its delay,
    earliest first; empty when they set no rule for that chain."""
    rules = NotificationRule.objects.filter(
        user=user, chain=chain_for_severity(severity)
    ).select_related("method")
    return [(rule.method, timedelta(minutes=rule.delay_minutes)) for rule in rules]


def rules_of(user: User) -> dict[str, list[NotificationRule]]:
    """Both chains of a person, each in the order its steps fire."""
    chains: dict[str, list[NotificationRule]] = {value: [] for value in Chain.values}
    for rule in NotificationRule.objects.filter(user=user).select_related("method"):
        chains[rule.chain].append(rule)
    return chains


@transaction.atomic
def add_rule(
    user: User, *, chain: str, method: ContactMethod, delay_minutes: int, by: User
) -> NotificationRule:
    if chain not in Chain.values:
        raise ActionRefused(_("Choose the severity 1-2 or the severity 3 chain."), field="chain")
    if method.user_id != user.pk:
        raise ActionRefused(_("Choose one of your own contact methods."), field="method")
    if not 0 <= delay_minutes <= MAX_DELAY_MINUTES:
        raise ActionRefused(
            _("The delay is between 0 and %(most)d minutes.") % {"most": MAX_DELAY_MINUTES},
            field="delay_minutes",
        )
    try:
        with transaction.atomic():
            return NotificationRule.objects.create(
                user=user, chain=chain, method=method, delay_minutes=delay_minutes
            )
    except IntegrityError:
        raise ActionRefused(
            _("This contact method is in that chain already; remove it first to change its delay."),
            field="method",
        ) from None


@transaction.atomic
def remove_rule(rule: NotificationRule, *, by: User) -> None:
    NotificationRule.objects.filter(pk=rule.pk).delete()


# Test pages ------------------------------------------------------------------------------


@transaction.atomic
def send_test_page(user: User, *, chain: str, by: User) -> TestPage:
    """Page the person through one chain now; a worker sends it after commit."""
    if chain not in Chain.values:
        raise ActionRefused(_("Choose the severity 1-2 or the severity 3 chain."), field="chain")
    if not _test_channels(user, chain):
        raise ActionRefused(
            _("You have no contact method and no account e-mail: add a contact method first."),
            field="chain",
        )
    page = TestPage.objects.create(user=user, chain=chain)
    from .tasks import deliver_test_page

    transaction.on_commit(partial(deliver_test_page.delay, page.pk), robust=True)
    return page


def _test_channels(user: User, chain_value: str) -> list[tuple[ContactMethod, int]]:
    """What a page of that chain would use: the rules, else every method, else the
    account e-mail (an unsaved method), as delivery does."""
    rules = rules_of(user)[chain_value]
    if rules:
        return [(rule.method, rule.delay_minutes) for rule in rules]
    methods = [(method, 0) for method in user.contact_methods.all()]
    if not methods and user.email:
        methods = [(ContactMethod(user=user, kind=ContactKind.EMAIL, target=user.email), 0)]
    return methods


def _send_test(page: TestPage, method: ContactMethod) -> str:
    key = f"test-page-{page.pk}"
    subject = _("Test page from Hotline")
    text = _(
        "This is a test page you asked for. Paging reaches you on %(method)s. Nothing to do."
    ) % {"method": shown_target(method.kind, method.target)}
    if method.kind == ContactKind.EMAIL:
        return email.send(
            email.Email(
                to=[method.target],
                subject=f"[TEST PAGE] {subject}",
                text=text,
                message_id=f"<{key}@{settings.COMMS_MESSAGE_ID_DOMAIN}>",
                headers={"X-Hotline-Idempotency-Key": key},
            )
        )
    if method.kind == ContactKind.SLACK:
        return chat.send(method.target, text, fmt="slack", idempotency_key=key, title=subject)
    payload = {"type": "test_page", "idempotency_key": key, "text": text}
    return webhook.send(method.target, payload, idempotency_key=key, secret=method.secret)


def deliver_test_page(page: TestPage) -> str:
    """Send to every step of the chain at once (a test shows each step's answer now,
    with the delay a real page would wait), recording each answer on the row."""
    results = []
    for method, delay in _test_channels(page.user, page.chain):
        try:
            result, ok = _send_test(page, method), True
        except TransportError as error:
            result, ok = str(error), False
        results.append(
            {
                "method": shown_target(method.kind, method.target),
                "kind": method.kind,
                "delay_minutes": delay,
                "ok": ok,
                "result": without_target(method.kind, method.target, result)[:300],
            }
        )
    TestPage.objects.filter(pk=page.pk).update(results=results)
    reached = sum(1 for row in results if row["ok"])
    return f"reached {reached} of {len(results)}"
