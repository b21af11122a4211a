"""The beat task: subscribers' mail through the outbox to a real SMTP server, once; two
ticks at once on PostgreSQL move each maintenance once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from comms import tasks
from comms.models import Delivery, MaintenanceStatus, OutboundEmail
from tests.comms.maintenance.conftest import plan, subscriber
from tests.conftest import requires_postgres


def plain(message):
    [part] = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    return part.get_payload(decode=True).decode()


@pytest.mark.django_db
def test_subscribers_receive_the_start_and_the_end_by_mail_once(
    smtp, clock, manager, products, django_capture_on_commit_callbacks
):
    maintenance = plan(manager, products[:1], title="Jira database upgrade")
    ann = subscriber("ann@example.com")
    clock.shift(timedelta(minutes=60))
    with django_capture_on_commit_callbacks() as enqueued:
        tasks.advance_maintenances()
    clock.shift(timedelta(minutes=120))
    tasks.advance_maintenances()
    tasks.advance_maintenances()

    mails = list(OutboundEmail.objects.order_by("created_at", "id"))
    for mail in mails:
        tasks.send_email(mail.pk)
        assert tasks.send_email(mail.pk) == "nothing to do"

    assert len(enqueued) == 1  # the start mail, enqueued after commit
    assert [m["Subject"] for m in smtp.messages] == [
        "Maintenance started: Jira database upgrade",
        "Maintenance over: Jira database upgrade",
    ]
    started, over = smtp.messages
    assert started["To"] == "ann@example.com"
    assert started["Message-ID"] == mails[0].message_id
    text = plain(started)
    assert "Jira is read-only for up to two hours." in text
    assert "until 3 Dec 2026 12:00 (UTC)" in text
    assert "Products: Jira" in text
    assert f"#{maintenance.public_id}" in text
    assert "/status/unsubscribe/" in started["List-Unsubscribe"]
    assert "The scheduled maintenance is over." in plain(over)
    assert {m.status for m in OutboundEmail.objects.all()} == {Delivery.SENT}
    assert ann.email in {m["To"] for m in smtp.messages}


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_start_each_maintenance_once(manager, products):

    for n in range(6):
        plan(manager, products, title=f"Upgrade {n}", starts_in=-1, lasts=60)
    subscriber("ann@example.com")
    results = []
    barrier = threading.Barrier(2)

    def tick():
        try:
            barrier.wait()
            results.append(tasks.advance_maintenances())
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    started = sum(int(r.split()[1].rstrip(",")) for r in results)
    assert started == 6
    from comms.models import Maintenance

    assert set(Maintenance.objects.values_list("status", flat=True)) == {
        MaintenanceStatus.IN_PROGRESS
    }
    assert OutboundEmail.objects.count() == 6
