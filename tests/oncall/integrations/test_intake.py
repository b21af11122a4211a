"""The alert intake's cost: a duplicate is one INSERT and nothing more, the key is
checked by that INSERT (so a rotated key, a paused or deleted integration take effect
at once), and the worker is woken once per slot, never per request."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache

from incidents.models import Incident
from oncall.integrations import actions, tasks
from oncall.integrations.actions import receiving
from oncall.integrations.models import Alert, AlertGroup, AlertOutcome
from tests.conftest import wait_for

from . import examples

PD = "/v2/enqueue"
AM = "/integrations/alertmanager/{}/"
SLOT = receiving.WAKE_SLOT_SECONDS
# Inside a slot, well clear of its end.
T0 = 1_800_000_000.1


@pytest.fixture
def woken(monkeypatch):
    """The runs queued: each one's ETA."""
    queued = []
    monkeypatch.setattr(
        tasks.process_alerts, "apply_async", lambda **options: queued.append(options["eta"])
    )
    return queued


@pytest.fixture
def at():
    """Freeze the clock at a moment (seconds since the epoch)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield lambda moment: traveller.move_to(datetime.fromtimestamp(moment, UTC))


def watch_cache(monkeypatch):
    """The names of the cache's methods the intake calls from now on."""
    asked = []

    class Watched:
        def __getattr__(self, name):
            asked.append(name)
            return getattr(cache, name)

    monkeypatch.setattr(receiving, "cache", Watched())
    return asked


def boundary_after(moment):
    return (int(moment / SLOT) + 1) * SLOT


# One statement ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["pagerduty", "alertmanager"])
def test_a_duplicate_costs_one_insert(
    fmt, key, post, django_assert_num_queries, django_capture_on_commit_callbacks, woken
):
    url, body = (PD, examples.pagerduty(key)) if fmt == "pagerduty" else (AM.format(key), None)
    body = body or examples.alertmanager()
    post(url, body)
    actions.process_pending()

    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(1) as q:
        assert post(url, body).status_code == 202

    assert q.captured_queries[0]["sql"].startswith('INSERT INTO "oncall_alert"')
    assert actions.process_pending() == 1
    assert AlertGroup.objects.get().alert_count == 2


def test_a_rotated_key_stops_working_at_once(integration, key, post, admin_user):
    assert post(PD, examples.pagerduty(key)).status_code == 202
    new_key = actions.rotate_key(integration, by=admin_user)

    refused = post(PD, examples.pagerduty(key))

    assert refused.status_code == 400
    assert refused.json()["errors"] == ["Invalid routing key"]
    assert post(PD, examples.pagerduty(new_key)).status_code == 202
    assert Alert.objects.count() == 2


def test_a_paused_integration_ignores_at_once_and_resumes_at_once(
    integration, key, post, admin_user
):
    actions.set_paused(integration, paused=True, by=admin_user)
    assert post(AM.format(key), examples.alertmanager()).json()["status"] == "ignored"
    actions.set_paused(integration, paused=False, by=admin_user)
    assert post(AM.format(key), examples.alertmanager()).json()["status"] == "accepted"
    assert list(Alert.objects.order_by("id").values_list("outcome", flat=True)) == [
        AlertOutcome.IGNORED,
        AlertOutcome.PENDING,
    ]


def test_a_deleted_integration_key_is_unknown_at_once(integration, key, post):
    assert post(AM.format(key), examples.alertmanager()).status_code == 202
    integration.delete()
    assert post(AM.format(key), examples.alertmanager()).status_code == 404
    assert post(PD, examples.pagerduty(key)).status_code == 400


def test_other_methods_keep_the_frameworks_answers(key, post):
    from django.test import Client

    assert Client().get(PD).status_code == 405
    assert Client().options(PD).status_code == 200


# Waking the worker -----------------------------------------------------------------------


def test_a_burst_queues_one_run_at_the_next_slot_boundary(
    key, post, woken, at, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            post(PD, examples.pagerduty(key))

    assert woken == [datetime.fromtimestamp(boundary_after(T0), UTC)]
    assert receiving._woken_until == boundary_after(T0) - receiving.WAKE_MARGIN_SECONDS


def test_within_its_slot_a_process_asks_the_cache_nothing(
    key, post, woken, at, monkeypatch, django_capture_on_commit_callbacks
):
    asked = watch_cache(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(20):
            post(PD, examples.pagerduty(key))

    assert asked == ["add"]


def test_another_process_relies_on_the_run_already_queued(
    key, post, woken, at, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(PD, examples.pagerduty(key))
    monkeypatch.setattr(receiving, "_woken_until", 0.0)  # another web process

    with django_capture_on_commit_callbacks(execute=True):
        post(PD, examples.pagerduty(key))

    assert len(woken) == 1
    assert receiving._woken_until == boundary_after(T0) - receiving.WAKE_MARGIN_SECONDS
    assert actions.process_pending() == 2  # the one run reads both


def test_an_alert_near_the_boundary_queues_the_next_slot(
    key, post, woken, at, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(PD, examples.pagerduty(key))
    # Inside the margin: the queued run may already have read.
    late = boundary_after(T0) - receiving.WAKE_MARGIN_SECONDS / 2
    at(late)

    with django_capture_on_commit_callbacks(execute=True):
        post(PD, examples.pagerduty(key))

    assert woken == [
        datetime.fromtimestamp(boundary_after(T0), UTC),
        datetime.fromtimestamp(boundary_after(T0) + SLOT, UTC),
    ]


def test_a_backlog_costs_the_requests_nothing(
    key, post, woken, at, monkeypatch, django_capture_on_commit_callbacks
):
    # The worker has not run the queued run (no one ran process_alerts): the next slot
    # is queued all the same, once, and the requests in it ask nothing.
    with django_capture_on_commit_callbacks(execute=True):
        post(PD, examples.pagerduty(key))
    at(T0 + 3 * SLOT)
    asked = watch_cache(monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(10):
            post(PD, examples.pagerduty(key))

    assert len(woken) == 2
    assert asked == ["add"]
    assert actions.process_pending() == 11


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_opens_the_incident_moments_after_the_request(key, post, worker):
    assert post(AM.format(key), examples.alertmanager()).status_code == 202

    assert wait_for(lambda: Incident.objects.exists(), seconds=15)
    assert Alert.objects.get().outcome == AlertOutcome.CREATED
