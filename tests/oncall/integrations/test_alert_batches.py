"""New alert groups becoming incidents in batches (issue 15): a batch logs its new
incidents together, with consecutive keys taken at once, and pages them in bulk."""

import json
import threading
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client

from incidents import events
from incidents.models import EntryKind, Incident, KeyCounter, TimelineEntry
from oncall.integrations import actions
from oncall.integrations.actions import processing
from oncall.integrations.models import Alert, AlertGroup, AlertOutcome
from oncall.models import Escalation, EscalationState, Page, PagingEvent
from tests.conftest import requires_postgres
from tests.factories import ProductFactory

from . import examples

PD = "/v2/enqueue"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _on_call(make_roster, team):
    """pia is the team's on-call IM: each severity-1 incident pages her once."""
    make_roster("payments-im", people=["pia"], team=team)


def folding_off(service, admin_user, name="Prometheus prod"):
    integration, key = actions.create_integration(
        by=admin_user, name=name, service=service, affected_products=[ProductFactory()]
    )
    actions.set_storm_threshold(integration, threshold=0, window=5)
    return integration, key


def send(key, dedup_key, *, client=None, severity="critical"):
    body = json.dumps(examples.pagerduty(key, dedup_key=dedup_key, severity=severity))
    response = (client or Client()).post(PD, data=body, content_type="application/json")
    assert response.status_code == 202, response.content


def last_number():
    counter = KeyCounter.objects.first()
    return counter.last_number if counter else 0


def test_a_batch_of_new_groups_opens_an_incident_and_a_page_each_with_consecutive_keys(
    service, admin_user, time_machine
):
    time_machine.move_to(NOW, tick=False)
    integration, key = folding_off(service, admin_user)
    before = last_number()
    for number in range(12):
        send(key, f"node-{number}")
    assert actions.process_pending() == 12

    groups = list(AlertGroup.objects.filter(integration=integration).order_by("pk"))
    numbers = [group.incident.number for group in groups]
    # In arrival order, none shared or skipped, and the counter says so.
    assert numbers == list(range(before + 1, before + 13))
    assert last_number() == before + 12
    assert [group.dedup_key for group in groups] == [f"node-{n}" for n in range(12)]
    incidents = Incident.objects.filter(alert_groups__integration=integration)
    assert {incident.key for incident in incidents} == {f"HOT-{n}" for n in numbers}
    assert all(incident.chat_room == incident.key for incident in incidents)
    assert all(incident.affected_products.count() == 1 for incident in incidents)
    assert Alert.objects.filter(outcome=AlertOutcome.CREATED).count() == 12
    for incident in incidents:
        pages = Page.objects.filter(incident=incident)
        assert [page.user.username for page in pages] == ["pia"]
        escalation = Escalation.objects.get(incident=incident)
        assert escalation.state == EscalationState.ACTIVE
        assert escalation.next_escalation_at is not None
        kinds = list(
            TimelineEntry.objects.filter(incident=incident).values_list("kind", "data__step")
        )
        assert kinds == [(EntryKind.CREATED, None), ("page", "started"), ("page", "step")]
        assert PagingEvent.objects.filter(incident=incident).count() == 2
        assert incident.involvements.get().person.username == "pia"


def test_a_repeat_of_a_new_group_in_the_same_batch_counts_on_its_incident(service, admin_user):
    integration, key = folding_off(service, admin_user)
    send(key, "disk")
    send(key, "cpu")
    send(key, "disk", severity="critical")
    assert actions.process_pending() == 3
    disk = AlertGroup.objects.get(integration=integration, dedup_key="disk")
    assert disk.alert_count == 2
    assert disk.incident is not None
    assert Incident.objects.filter(alert_groups__integration=integration).count() == 2


@pytest.fixture
def only_paging(monkeypatch):
    """The incident and paging writes alone: other apps' subscribers (chat, webhooks,
    metrics) have their own costs and tests."""
    kept = {
        name: [h for h in handlers if h.__module__.startswith(("oncall", "incidents.events"))]
        for name, handlers in events._handlers.items()
    }
    monkeypatch.setattr(events, "_handlers", defaultdict(list, kept))


@pytest.mark.parametrize("groups", [3, 40])
def test_a_batch_of_new_incidents_costs_the_same_queries_for_3_or_40(
    service, admin_user, django_assert_max_num_queries, only_paging, groups
):
    integration, key = folding_off(service, admin_user)
    send(key, "warm-up")
    actions.process_pending()  # the bot user, the counter row
    for number in range(groups):
        send(key, f"node-{number}")
    with django_assert_max_num_queries(42):
        assert actions.process_pending() == groups
    assert Page.objects.filter(incident__alert_groups__integration=integration).count() == (
        groups + 1
    )


def test_a_batch_that_fails_while_paging_rolls_back_whole_and_skips_no_key(
    service, admin_user, monkeypatch
):
    """Paging one of a batch's new incidents fails: the batch rolls back (keys taken,
    incidents, pages), then its alerts are applied one by one and only that one fails."""
    from oncall import actions as oncall_actions

    real_start = oncall_actions.start_escalations

    def start(incidents, **kwargs):
        if any(incident.description.startswith("poison") for incident in incidents):
            raise ValueError("a bug")
        return real_start(incidents, **kwargs)

    monkeypatch.setattr(oncall_actions, "start_escalations", start)
    _integration, key = folding_off(service, admin_user)
    before = last_number()
    for dedup_key in ("early", "poison", "late"):
        body = examples.pagerduty(key, dedup_key=dedup_key)
        body["payload"]["summary"] = dedup_key
        response = Client().post(PD, json.dumps(body), content_type="application/json")
        assert response.status_code == 202
    assert actions.process_pending() == 3
    outcomes = dict(Alert.objects.values_list("dedup_key", "outcome"))
    assert outcomes == {"early": "created", "poison": "failed", "late": "created"}
    assert sorted(Incident.objects.values_list("number", flat=True)) == [before + 1, before + 2]
    assert last_number() == before + 2
    assert Page.objects.count() == 2


# As production runs it: no test transaction ----------------------------------------------


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_two_integrations_share_no_key_and_skip_none(service, admin_user):
    first, first_key = folding_off(service, admin_user, name="one")
    second, second_key = folding_off(service, admin_user, name="two")
    before = last_number()
    client = Client()
    for number in range(30):
        send(first_key, f"a-{number}", client=client)
        send(second_key, f"b-{number}", client=client)
    barrier = threading.Barrier(2)
    errors = []

    def work(integration):
        try:
            barrier.wait()
            while Alert.objects.filter(integration=integration, outcome="pending").exists():
                actions.process_pending(integration_id=integration.pk)
        except Exception as error:  # collected: an exception in a thread would vanish
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = sorted(Incident.objects.values_list("number", flat=True))
    assert numbers == list(range(before + 1, before + 61))
    assert last_number() == before + 60
    assert Page.objects.count() == 60
    assert not Alert.objects.exclude(outcome=AlertOutcome.CREATED).exists()
    # Each batch's incidents in its arrival order.
    for integration in (first, second):
        groups = AlertGroup.objects.filter(integration=integration).order_by("pk")
        keyed = [group.incident.number for group in groups]
        assert keyed == sorted(keyed)


def test_a_batch_creates_a_bounded_number_of_incidents(
    service, admin_user, monkeypatch, only_paging
):
    """Incidents are created at the end of a batch, under the key counter's lock: with
    folding off a flood of new groups is cut into batches of a bounded number of new
    incidents, and every group still gets its own."""
    monkeypatch.setattr(processing, "OPENING_MAX", 4)
    integration, key = folding_off(service, admin_user)
    for number in range(10):
        send(key, f"node-{number}")
    sizes = []
    real = processing._Batch.apply

    def counted(batch, alerts):
        applied = real(batch, alerts)
        sizes.append(applied)
        return applied

    monkeypatch.setattr(processing._Batch, "apply", counted)
    assert actions.process_pending() == 10
    assert sizes == [4, 4, 2]
    groups = AlertGroup.objects.filter(integration=integration)
    assert groups.values("incident").distinct().count() == 10
