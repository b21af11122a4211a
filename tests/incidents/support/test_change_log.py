"""The metrics figures' change log (issue 15): the version the cached pages and months are
kept under comes from the database, only grows with each committed change, and folding
the log changes no version, whether it runs twice, is killed or races changes."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from incidents import actions
from incidents.models import Incident
from incidents.support import figures
from incidents.support.figures import FiguresChange, IncidentFigures
from incidents.support.tasks import fold_metrics_changes
from tests.factories import ServiceFactory, UserFactory, make_incident
from tests.incidents.support.test_figures import _at_once


def versions():
    """Each month's committed changes, and the whole log's."""
    by_month = dict(
        FiguresChange.objects.order_by()
        .values("month")
        .annotate(n=Sum("changes"))
        .values_list("month", "n")
    )
    return by_month, sum(by_month.values())


def _two_months_of_changes(by, manager):
    service = ServiceFactory()
    now = timezone.now()
    made = [
        make_incident(by=by, faulty_service=service, impact_started_at=now - timedelta(days=days))
        for days in (1, 2, 45, 46)
    ]
    for incident in made:
        actions.change_severity(incident, severity=1, by=manager)
    return made


def test_every_change_counts_in_its_month(support, manager):
    made = _two_months_of_changes(support, manager)
    by_month, _ = versions()
    months = {IncidentFigures.objects.get(pk=incident.pk).month for incident in made}
    # Four incidents opened and four severities changed; the service and its team's
    # saves counted without a month.
    assert sum(by_month[month] for month in months) == 8
    assert by_month[None] == 2


def test_fold_keeps_every_version_and_a_second_fold_changes_nothing(support, manager):
    _two_months_of_changes(support, manager)
    kept = versions()
    assert figures.fold() > 0
    assert versions() == kept
    months = list(FiguresChange.objects.values_list("month", flat=True))
    assert len(months) == len(set(months))  # one row a month left
    rows = list(FiguresChange.objects.order_by("pk").values_list("pk", "month", "changes"))
    assert figures.fold() == 0
    assert list(FiguresChange.objects.order_by("pk").values_list("pk", "month", "changes")) == rows


class Killed(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_fold_killed_between_its_writes_leaves_the_log_as_it_was(monkeypatch):
    support, manager = UserFactory(group="support"), UserFactory(group="incident manager")
    _two_months_of_changes(support, manager)
    rows = list(FiguresChange.objects.order_by("pk").values_list("pk", "month", "changes"))

    def killed(self):
        raise Killed  # after the kept rows took their sums, before the others went

    with monkeypatch.context() as patched:
        patched.setattr(QuerySet, "delete", killed)
        with pytest.raises(Killed):
            figures.fold()
    assert list(FiguresChange.objects.order_by("pk").values_list("pk", "month", "changes")) == rows
    kept = versions()
    assert figures.fold() > 0  # the next fold does the work
    assert versions() == kept


def test_a_change_committed_under_an_earlier_id_still_starts_a_new_version(
    client_for, support, manager
):
    """Ids are taken before commit: a change may commit after a later id was read. The
    newest id would not move; the count does."""
    incident = _two_months_of_changes(support, manager)[0]
    figures.fold()  # ids below each month's newest are free again
    free = FiguresChange.objects.order_by("pk").first().pk - 1
    assert free > 0
    client = client_for(support)
    assert client.get("/support/metrics/").context["m"].ttd.count == 4
    # A change that took its id before the others and committed after them.
    with transaction.atomic():
        IncidentFigures.objects.filter(pk=incident.pk).update(ttd_us=None)
        FiguresChange.objects.create(
            pk=free, month=IncidentFigures.objects.get(pk=incident.pk).month
        )
    assert client.get("/support/metrics/").context["m"].ttd.count == 3


def test_a_page_already_shown_costs_one_query_past_the_sign_in(
    client_for, support, manager, django_assert_max_num_queries
):
    _two_months_of_changes(support, manager)
    client = client_for(support)
    url = "/support/metrics/?period=all"
    client.get(url)
    # The session, the person, their permissions; the version with the restricted
    # incidents they see. Nothing else: no form, no catalogue, no figures.
    with django_assert_max_num_queries(4):
        page = client.get(url)
    assert page.status_code == 200
    assert page.context["m"] is None  # the content as kept
    assert "4 incidents whose impact started" in page.context["content"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_folds_racing_changes_lose_no_version_and_wait_on_nothing():
    """No wrapping transaction: each fold and each change commits on its own."""
    support, manager = UserFactory(group="support"), UserFactory(group="incident manager")
    made = _two_months_of_changes(support, manager)
    before = versions()[1]
    _at_once(
        figures.fold,
        figures.fold,
        lambda: actions.change_severity(made[0], severity=2, by=manager),
        lambda: actions.change_severity(made[2], severity=3, by=manager),
    )
    assert versions()[1] == before + 2
    assert list(Incident.objects.order_by("pk").values_list("severity", flat=True)) == [2, 1, 3, 1]


def test_the_fold_task_run_twice_folds_once(support, manager):
    _two_months_of_changes(support, manager)
    kept = versions()
    assert fold_metrics_changes() != "0 changes folded"
    assert fold_metrics_changes() == "0 changes folded"
    assert versions() == kept


def test_a_page_cached_for_another_database_sharing_the_cache_is_not_shown(
    client_for, support, manager, monkeypatch
):
    """Two databases (two benchmarks, staging and production) count their versions through
    the same numbers: what one cached must not answer for the other."""
    incident = _two_months_of_changes(support, manager)[0]
    client = client_for(support)
    assert client.get("/support/metrics/").context["m"].ttd.count == 4
    # The other database: the same number of changes, one incident without a TTD.
    IncidentFigures.objects.filter(pk=incident.pk).update(ttd_us=None)
    monkeypatch.setattr(figures, "database", lambda: "postgresql:elsewhere:5432:other")
    assert client.get("/support/metrics/").context["m"].ttd.count == 3
