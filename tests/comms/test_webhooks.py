"""Outgoing webhooks as receivers check them: Standard Webhooks (the ``standardwebhooks``
package), Stripe's signature verifier, and the Python and openssl snippets of
docs/webhooks.md, each run against a real delivery to a local HTTP receiver."""

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import standardwebhooks
import stripe
from django.conf import settings as django_settings
from django.utils.datastructures import CaseInsensitiveMapping

from comms import outbox, tasks
from comms.models import Delivery, Webhook, WebhookDelivery, WebhookEvent
from comms.transports import webhook as webhook_transport
from incidents import actions as incident_actions
from incidents.actions import roles
from incidents.models import Role
from tests.factories import UserFactory, make_incident
from tests.receivers import HttpReceiver

DOC = Path(django_settings.BASE_DIR) / "docs" / "webhooks.md"
# A secret starting with "-" would be read as an option by a careless openssl call.
SECRET = "-Zm9v_bar-baz_0123456789abcdefgh"


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def deliver(receiver, products, **fields):
    """A real incident.created delivery; returns (request as received, delivery row)."""
    Webhook.objects.create(
        name="warehouse",
        url=f"{receiver.url}/hooks",
        secret=SECRET,
        events=[WebhookEvent.CREATED],
    )
    make_incident(products=products, **fields)
    delivery = WebhookDelivery.objects.get()
    assert tasks.send_webhook(delivery.pk) == "HTTP 200"
    return lowered(receiver.requests[-1]), delivery


def lowered(request):
    """HTTP header names are case-insensitive (urllib sends "Webhook-id"): look them up
    as the Standard Webhooks libraries do, in lower case."""
    request.original_headers = dict(request.headers)
    request.headers = {name.lower(): value for name, value in request.headers.items()}
    return request


@pytest.mark.django_db
def test_standard_webhooks_and_stripe_verifiers_accept_a_delivery(products):
    with HttpReceiver() as receiver:
        request, delivery = deliver(receiver, products, summary="Checkout <fails> & more")

    headers = request.headers
    assert headers["webhook-id"] == headers["idempotency-key"] == str(delivery.event_id)
    hook = standardwebhooks.Webhook(webhook_transport.standard_secret(SECRET))
    assert hook.verify(request.body, headers) == request.json()
    # The raw key works too, as the docs say.
    assert standardwebhooks.Webhook(SECRET.encode()).verify(request.body, headers)
    assert stripe.WebhookSignature.verify_header(
        request.body.decode(), headers["x-hotline-signature"], SECRET, tolerance=300
    )
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(b"another secret").verify(request.body, headers)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(
            request.body.decode().replace("fails", "works"),
            headers["x-hotline-signature"],
            SECRET,
            tolerance=300,
        )


@pytest.mark.django_db
def test_a_delivery_replayed_after_the_window_is_refused(products, time_machine):
    sent_at = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    time_machine.move_to(sent_at, tick=False)
    with HttpReceiver() as receiver:
        request, _ = deliver(receiver, products)
    hook = standardwebhooks.Webhook(webhook_transport.standard_secret(SECRET))

    time_machine.move_to(sent_at + timedelta(seconds=webhook_transport.TOLERANCE_SECONDS))
    assert hook.verify(request.body, request.headers)
    time_machine.move_to(sent_at + timedelta(seconds=webhook_transport.TOLERANCE_SECONDS + 1))
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="too old"):
        hook.verify(request.body, request.headers)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(
            request.body.decode(), request.headers["x-hotline-signature"], SECRET, tolerance=300
        )
    assert not webhook_transport.verify(
        SECRET, request.headers["x-hotline-signature"], request.body
    )


@pytest.mark.django_db
def test_a_retry_keeps_its_id_and_is_signed_anew(products, time_machine):
    first = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    time_machine.move_to(first, tick=False)
    with HttpReceiver(fail_first=1) as receiver:
        Webhook.objects.create(
            name="w", url=receiver.url, secret=SECRET, events=[WebhookEvent.CREATED]
        )
        make_incident(products=products)
        delivery = WebhookDelivery.objects.get()
        with pytest.raises(outbox.TransportError):
            outbox.deliver(WebhookDelivery, delivery.pk, outbox.send_webhook_row)
        # The receiver was down for longer than the replay window.
        time_machine.move_to(first + timedelta(minutes=20), tick=False)
        tasks.send_webhook(delivery.pk)

    request = lowered(receiver.requests[0])
    assert len(receiver.requests) == 1
    assert request.headers["webhook-id"] == str(delivery.event_id)
    assert request.headers["webhook-timestamp"] == str(
        int((first + timedelta(minutes=20)).timestamp())
    )
    standardwebhooks.Webhook(SECRET.encode()).verify(request.body, request.headers)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.SENT, 2)


@pytest.mark.django_db
def test_the_documented_python_snippets_verify_a_real_delivery(products):
    with HttpReceiver() as receiver:
        request, _ = deliver(receiver, products)
    blocks = code_blocks("python")
    assert len(blocks) == 3

    # As a web framework hands them over: case-insensitive, in the case they were sent.
    headers = CaseInsensitiveMapping(receiver.requests[-1].original_headers)
    namespace = {"secret": SECRET, "headers": headers, "body": request.body}
    for block in blocks:
        exec(block, namespace)

    verify = namespace["verify_standard_webhook"]
    assert verify(SECRET, headers, request.body)
    assert namespace["event"] == request.json()
    assert not verify("wrong", request.headers, request.body)
    assert not verify(SECRET, request.headers, request.body + b" ")
    assert not verify(SECRET, {}, request.body)


@pytest.mark.django_db
def test_the_documented_openssl_snippet_verifies_a_real_delivery(products, tmp_path):
    with HttpReceiver() as receiver:
        request, _ = deliver(receiver, products)
    [snippet] = code_blocks("sh")

    def run(body: bytes, **overrides: str) -> subprocess.CompletedProcess:
        (tmp_path / "body.json").write_bytes(body)
        env = {
            "PATH": "/usr/bin:/bin",
            "SECRET": SECRET,
            "WEBHOOK_ID": request.headers["webhook-id"],
            "WEBHOOK_TIMESTAMP": request.headers["webhook-timestamp"],
            "WEBHOOK_SIGNATURE": request.headers["webhook-signature"],
            **overrides,
        }
        return subprocess.run(
            ["bash", "-c", snippet], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    good = run(request.body)
    assert (good.returncode, good.stdout.strip()) == (0, "valid"), good.stderr
    tampered = run(request.body.replace(b'"severity":', b'"severity": '))
    assert (tampered.returncode, tampered.stdout.strip()) == (1, "bad signature")
    stale = int(request.headers["webhook-timestamp"]) - 301
    replayed = run(
        request.body,
        WEBHOOK_TIMESTAMP=str(stale),
        WEBHOOK_SIGNATURE=webhook_transport.standard_signature(
            SECRET, request.headers["webhook-id"], stale, request.body
        ),
    )
    assert (replayed.returncode, replayed.stdout.strip()) == (1, "outside the replay window")


def test_the_docs_describe_every_event():
    text = DOC.read_text()
    for event in WebhookEvent.values:
        assert f"### `{event}`" in text


# incident.role_changed names the role ------------------------------------------------


def role_payloads():
    return [
        d.payload["data"]["role"]
        for d in WebhookDelivery.objects.filter(event=WebhookEvent.ROLE_CHANGED).order_by("pk")
    ]


@pytest.mark.django_db
def test_role_changed_names_the_role_of_every_change(products, manager, other_manager):
    Webhook.objects.create(name="w", url="http://127.0.0.1:9/", events=[WebhookEvent.ROLE_CHANGED])
    lead = UserFactory(username="tom", group="responder")
    incident = make_incident(products=products)

    incident = incident_actions.claim_incident(incident, by=manager)
    assignment = roles.assign_role(incident, person=lead, role=Role.TECH_LEAD, by=manager)
    roles.release_role(assignment, by=manager)
    manager_role = incident.roles.get(role=Role.INCIDENT_MANAGER, ended_at=None)
    roles.hand_over_role(manager_role, to=other_manager, by=manager)
    manager_role = incident.roles.get(role=Role.INCIDENT_MANAGER, ended_at=None)
    roles.release_role(manager_role, by=other_manager)

    im = {"role": "incident_manager", "label": "Incident manager"}
    lead_role = {"role": "tech_lead", "label": "Tech lead"}
    assert role_payloads() == [
        {**im, "action": "claimed", "person": "maya"},
        {**lead_role, "action": "assigned", "person": "tom"},
        {**lead_role, "action": "released", "person": "tom"},
        {**im, "action": "handed_over", "person": "imani", "from": "maya"},
        {**im, "action": "released", "person": "imani"},
    ]


# The admin form lists the events -----------------------------------------------------


@pytest.mark.django_db
def test_admin_form_offers_every_event_and_refuses_others(client_for, admin_user):
    client = client_for(admin_user)
    page = client.get("/admin/comms/webhook/add/").content.decode()
    for event in WebhookEvent:
        assert f'value="{event.value}"' in page
        assert str(event.label) in page

    form = {"name": "Warehouse", "url": "https://example.com/hook", "secret": "s3", "active": "on"}
    refused = client.post("/admin/comms/webhook/add/", {**form, "events": ["incident.exploded"]})
    assert refused.status_code == 200
    assert "incident.exploded is not one of the available choices" in refused.content.decode()
    empty = client.post("/admin/comms/webhook/add/", form)
    assert "Choose at least one event." in empty.content.decode()
    assert not Webhook.objects.exists()

    events = [WebhookEvent.CREATED.value, WebhookEvent.ROLE_CHANGED.value]
    created = client.post("/admin/comms/webhook/add/", {**form, "events": events})
    assert created.status_code == 302
    hook = Webhook.objects.get()
    assert hook.events == events
    shown = client.get(f"/admin/comms/webhook/{hook.pk}/change/").content.decode()
    assert webhook_transport.standard_secret("s3") in shown
    assert json.loads(json.dumps(hook.events)) == events


@pytest.mark.django_db(transaction=True)
def test_an_admin_creates_a_webhook_over_http_without_a_wrapping_transaction(
    client_for, admin_user, products
):
    """Committed for real (PostgreSQL runs it outside a test transaction), then used."""
    with HttpReceiver() as receiver:
        answer = client_for(admin_user).post(
            "/admin/comms/webhook/add/",
            {
                "name": "Warehouse",
                "url": f"{receiver.url}/hooks",
                "secret": SECRET,
                "events": [WebhookEvent.CREATED.value],
                "active": "on",
            },
        )
        assert answer.status_code == 302
        make_incident(products=products)
        delivery = WebhookDelivery.objects.get()
        assert tasks.send_webhook(delivery.pk) == "HTTP 200"

    request = lowered(receiver.requests[0])
    assert standardwebhooks.Webhook(SECRET.encode()).verify(request.body, request.headers)


@pytest.mark.django_db
def test_the_documented_envelope_is_what_is_sent(products):
    with HttpReceiver() as receiver:
        request, _ = deliver(receiver, products)
    section = DOC.read_text().split("\n## Incident events\n", 1)[1]
    example = json.loads(re.search(r"```json\n(.*?)```", section, flags=re.DOTALL).group(1))

    body = request.json()
    assert set(body) == set(example)
    assert set(body["data"]["incident"]) == set(example["data"]["incident"])
