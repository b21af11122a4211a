"""A page to a signed JSON webhook is what docs/webhooks.md says, and a Standard Webhooks
verifier accepts it; a page to Slack is Block Kit with what people typed escaped."""

import json
import re
from datetime import date
from pathlib import Path

import pytest
import standardwebhooks
from django.conf import settings as django_settings
from slack_sdk.models.blocks import Block

from oncall import actions, delivery
from oncall.models import ContactMethod
from tests.factories import ServiceFactory, TeamFactory, make_incident
from tests.receivers import HttpReceiver

DOC = Path(django_settings.BASE_DIR) / "docs" / "webhooks.md"


def documented(heading: str) -> dict:
    """The first JSON example after a heading of docs/webhooks.md."""
    section = DOC.read_text().split(f"\n{heading}\n", 1)[1]
    example = re.search(r"```json\n(.*?)```", section, flags=re.DOTALL)
    assert example is not None, f"no JSON example under {heading}"
    return json.loads(example.group(1))


@pytest.fixture
def pia(make_roster):
    team = TeamFactory(slug="payments", name="Payments")
    roster = make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))
    return roster.participants.get().user, ServiceFactory(slug="checkout", team=team)


@pytest.mark.django_db
def test_a_page_webhook_is_signed_and_shaped_as_documented(pia, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    person, service = pia
    with HttpReceiver() as receiver:
        actions.add_contact_method(
            person, kind="webhook", target=receiver.url + "/page", secret="s3cr3t", by=person
        )
        incident = make_incident(severity=1, faulty_service=service, summary="Checkout down")
        page = incident.pages.get()
        delivery.deliver(page.pk)

    [request] = receiver.requests
    body = standardwebhooks.Webhook(b"s3cr3t").verify(request.body, request.headers)
    assert body["type"] == "page"
    assert body["idempotency_key"] == str(page.idempotency_key)
    assert body["incident"]["key"] == incident.key
    example = documented("## Pages")
    assert set(body) == set(example)
    assert set(body["incident"]) == set(example["incident"])
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["webhook-id"] == str(page.idempotency_key)


@pytest.mark.django_db
def test_a_page_to_slack_is_block_kit_with_the_summary_escaped(pia, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    person, service = pia
    with HttpReceiver() as receiver:
        ContactMethod.objects.create(user=person, kind="slack", target=receiver.url)
        page = make_incident(
            severity=1, faulty_service=service, summary="<!channel> Checkout & co"
        ).pages.get()
        delivery.deliver(page.pk)

    body = receiver.requests[0].json()
    for block in Block.parse_all(body["blocks"]):
        block.validate_json()
    assert "&lt;!channel&gt; Checkout &amp; co" in body["text"]
    assert "<!channel>" not in json.dumps(body)
