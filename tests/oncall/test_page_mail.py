"""A page e-mail is made like every other mail of the portal: received by a real SMTP
server, it is auto-generated (RFC 3834), in the portal's Message-ID domain, no list."""

from datetime import date

import pytest

from oncall import delivery
from tests.factories import ServiceFactory, TeamFactory, make_incident

DOMAIN = "mail.hotline.example"


@pytest.mark.django_db
def test_a_page_mail_is_auto_generated_with_the_portals_message_id(smtp, settings, make_roster):
    settings.COMMS_MESSAGE_ID_DOMAIN = DOMAIN
    team = TeamFactory(slug="payments", name="Payments")
    service = ServiceFactory(slug="checkout", name="Checkout", team=team)
    make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))
    incident = make_incident(severity=1, faulty_service=service, summary="Checkout down")
    page = incident.pages.get()

    assert delivery.deliver(page.pk)[0] == "sent on attempt 1"

    [message] = smtp.messages
    assert message["To"] == "pia@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["Message-ID"] == f"<page-{page.idempotency_key}@{DOMAIN}>"
    assert message["X-Hotline-Idempotency-Key"] == str(page.idempotency_key)
    # A page is one person's call to act, never a mailing to unsubscribe from.
    assert message["List-Unsubscribe"] is None
    assert message["Precedence"] is None
