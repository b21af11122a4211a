"""Personal notification rules: delivery honours each rule's delay and the severity
chains; acknowledging stops the later rules; the test page reports each step."""

from datetime import timedelta

import pytest
from django.urls import reverse

from incidents.actions import ActionRefused
from oncall import actions, delivery
from oncall.models import ContactMethod, PageState
from oncall.personal import rules
from oncall.personal.models import Chain, NotificationRule
from oncall.personal.models import TestPage as SentTestPage
from tests.conftest import requires_postgres
from tests.factories import UserFactory, make_incident
from tests.receivers import HttpReceiver

from .conftest import NOW


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://hotline.example"


def methods(user, hook_url):
    mail = ContactMethod.objects.create(user=user, kind="email", target="pia@example.com")
    hook = ContactMethod.objects.create(user=user, kind="webhook", target=hook_url)
    return mail, hook


def test_a_later_rule_waits_for_its_delay(frozen, service, roster, pia, smtp):
    with HttpReceiver() as receiver:
        mail, hook = methods(pia, receiver.url)
        rules.add_rule(pia, chain=Chain.MAJOR, method=mail, delay_minutes=0, by=pia)
        rules.add_rule(pia, chain=Chain.MAJOR, method=hook, delay_minutes=5, by=pia)
        incident = make_incident(severity=1, faulty_service=service)
        page = incident.pages.get(user=pia)

        outcome, retry_in = delivery.deliver(page.pk)
        assert retry_in == 300.0, outcome
        assert len(smtp.messages) == 1
        assert receiver.requests == []
        page.refresh_from_db()
        assert page.state == PageState.PENDING
        assert page.next_attempt_at == NOW + timedelta(minutes=5)

        frozen.move_to(NOW + timedelta(minutes=4, seconds=59), tick=False)
        assert delivery.deliver(page.pk)[0].startswith("nothing to do")
        assert receiver.requests == []

        frozen.move_to(NOW + timedelta(minutes=5), tick=False)
        assert delivery.deliver(page.pk) == ("sent on attempt 2", None)
    assert len(receiver.requests) == 1
    assert len(smtp.messages) == 1  # the e-mail was not sent twice
    page.refresh_from_db()
    assert page.state == PageState.SENT


def test_acknowledging_before_the_delay_stops_the_later_rule(frozen, service, roster, pia, smtp):
    with HttpReceiver() as receiver:
        mail, hook = methods(pia, receiver.url)
        rules.add_rule(pia, chain=Chain.MAJOR, method=mail, delay_minutes=0, by=pia)
        rules.add_rule(pia, chain=Chain.MAJOR, method=hook, delay_minutes=5, by=pia)
        page = make_incident(severity=2, faulty_service=service).pages.get(user=pia)
        delivery.deliver(page.pk)
        actions.acknowledge_page(page, by=pia)

        frozen.move_to(NOW + timedelta(minutes=6), tick=False)
        assert delivery.deliver(page.pk)[0].startswith("nothing to do")
    assert receiver.requests == []
    assert len(smtp.messages) == 1


def test_a_chain_starting_late_does_not_escalate_before_its_first_rule(
    frozen, service, roster, pia, smtp
):
    mail = ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
    rules.add_rule(pia, chain=Chain.MAJOR, method=mail, delay_minutes=2, by=pia)
    incident = make_incident(severity=1, faulty_service=service)
    page = incident.pages.get(user=pia)
    assert delivery.deliver(page.pk)[1] == 120.0
    assert smtp.messages == []
    # Nothing was tried: nobody "was not reached", the escalation keeps its clock.
    assert not incident.paging_events.filter(text__contains="reached nobody").exists()
    frozen.move_to(NOW + timedelta(minutes=2), tick=False)
    assert delivery.deliver(page.pk) == ("sent on attempt 2", None)
    assert len(smtp.messages) == 1


def test_severity_3_follows_the_severity_3_chain(frozen, service, roster, pia, manager, smtp):
    with HttpReceiver() as receiver:
        mail, hook = methods(pia, receiver.url)
        rules.add_rule(pia, chain=Chain.MAJOR, method=mail, delay_minutes=0, by=pia)
        rules.add_rule(pia, chain=Chain.MINOR, method=hook, delay_minutes=0, by=pia)
        incident = make_incident(severity=3, faulty_service=service)
        page = actions.page_manually(incident, by=manager, user=pia, message="Look at this")
        assert delivery.deliver(page.pk) == ("sent on attempt 1", None)
    assert len(receiver.requests) == 1
    assert receiver.requests[0].json()["incident"]["severity"] == 3
    assert [m["To"] for m in smtp.messages] == []


def test_without_rules_for_a_chain_every_method_is_paged_at_once(
    frozen, service, roster, pia, smtp
):
    with HttpReceiver() as receiver:
        _mail, hook = methods(pia, receiver.url)
        # A severity 3 rule only: the severity 1 page uses every method.
        rules.add_rule(pia, chain=Chain.MINOR, method=hook, delay_minutes=10, by=pia)
        page = make_incident(severity=1, faulty_service=service).pages.get(user=pia)
        assert delivery.deliver(page.pk) == ("sent on attempt 1", None)
    assert len(receiver.requests) == 1
    assert len(smtp.messages) == 1


def test_someone_elses_method_is_refused(pia):
    other = ContactMethod.objects.create(
        user=UserFactory(username="ola"), kind="email", target="ola@example.com"
    )
    with pytest.raises(ActionRefused) as refused:
        rules.add_rule(pia, chain=Chain.MAJOR, method=other, delay_minutes=0, by=pia)
    assert refused.value.field == "method"
    assert not NotificationRule.objects.exists()


def test_a_method_twice_in_one_chain_is_refused(pia):
    mail = ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
    rules.add_rule(pia, chain=Chain.MAJOR, method=mail, delay_minutes=0, by=pia)
    with pytest.raises(ActionRefused) as refused:
        rules.add_rule(pia, chain=Chain.MAJOR, method=mail, delay_minutes=5, by=pia)
    assert refused.value.field == "method"
    assert NotificationRule.objects.count() == 1


def test_the_rules_page_adds_and_removes_a_step(client_for, pia):
    mail = ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
    client = client_for(pia)
    response = client.post(
        reverse("oncall:rules"), {"chain": "major", "method": mail.pk, "delay_minutes": "5"}
    )
    assert response.status_code == 302
    rule = NotificationRule.objects.get()
    assert (rule.chain, rule.delay_minutes) == ("major", 5)
    html = client.get(reverse("oncall:rules")).content.decode()
    assert "after 5 minutes" in html
    assert client.post(reverse("oncall:rule_remove", args=[rule.pk])).status_code == 302
    assert not NotificationRule.objects.exists()


def test_a_bad_delay_is_a_400_naming_the_field(client_for, pia):
    mail = ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
    response = client_for(pia).post(
        reverse("oncall:rules"), {"chain": "major", "method": mail.pk, "delay_minutes": "-1"}
    )
    assert response.status_code == 400
    assert "delay_minutes" in response.context["form"].errors
    assert not NotificationRule.objects.exists()


def test_nobody_removes_someone_elses_rule(client_for, pia):
    mail = ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
    rule = rules.add_rule(pia, chain=Chain.MAJOR, method=mail, delay_minutes=0, by=pia)
    response = client_for(UserFactory(username="ola")).post(
        reverse("oncall:rule_remove", args=[rule.pk])
    )
    assert response.status_code == 404
    assert NotificationRule.objects.filter(pk=rule.pk).exists()


def test_the_test_page_reaches_each_step_and_shows_the_result(
    client_for, pia, smtp, django_capture_on_commit_callbacks
):
    with HttpReceiver(status=503) as receiver:
        mail, hook = methods(pia, receiver.url)
        rules.add_rule(pia, chain=Chain.MAJOR, method=mail, delay_minutes=0, by=pia)
        rules.add_rule(pia, chain=Chain.MAJOR, method=hook, delay_minutes=5, by=pia)
        client = client_for(pia)
        with django_capture_on_commit_callbacks() as callbacks:
            response = client.post(reverse("oncall:test_page_send"), {"chain": "major"})
        page = SentTestPage.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("oncall:test_page", args=[page.pk])
        assert len(callbacks) == 1
        from oncall.personal.tasks import deliver_test_page

        assert deliver_test_page.run(page.pk) == "reached 1 of 2"
        assert deliver_test_page.run(page.pk) == "nothing to do"  # a second run sends nothing
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["Subject"] == "[TEST PAGE] Test page from Hotline"
    assert len(receiver.requests) == 1
    page.refresh_from_db()
    assert [(r["kind"], r["delay_minutes"], r["ok"]) for r in page.results] == [
        ("email", 0, True),
        ("webhook", 5, False),
    ]
    assert receiver.url not in str(page.results)  # a webhook URL is a credential
    html = client.get(reverse("oncall:test_page", args=[page.pk])).content.decode()
    assert "delivered" in html
    assert "HTTP 503 from 127.0.0.1" in html
    assert (
        client_for(UserFactory(username="ola"))
        .get(reverse("oncall:test_page", args=[page.pk]))
        .status_code
        == 404
    )


def test_a_test_page_of_someone_unreachable_is_refused(db, client_for):
    nobody = UserFactory(username="nob", email="")
    response = client_for(nobody).post(reverse("oncall:test_page_send"), {"chain": "minor"})
    assert response.status_code == 400
    assert "chain" in response.context["test_form"].errors
    assert not SentTestPage.objects.exists()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_rules_and_a_test_page_over_http_commit(client_for, pia, smtp, private_broker):
    mail = ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
    client = client_for(pia)
    response = client.post(
        reverse("oncall:rules"), {"chain": "minor", "method": mail.pk, "delay_minutes": "0"}
    )
    assert response.status_code == 302
    assert NotificationRule.objects.get().chain == "minor"
    response = client.post(reverse("oncall:test_page_send"), {"chain": "minor"})
    page = SentTestPage.objects.get()
    assert response["Location"] == reverse("oncall:test_page", args=[page.pk])
    from oncall.personal.tasks import deliver_test_page

    assert deliver_test_page.run(page.pk) == "reached 1 of 1"
    page.refresh_from_db()
    assert page.status == "sent"
    assert len(smtp.messages) == 1
