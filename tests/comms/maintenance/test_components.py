"""Products' statuses have one way to be worked out (``comms.actions.refresh_components``),
used by publishing an update and by maintenances alike, which holds its product locks in
a transaction of its own when its caller has none (DESIGN rule 7)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from comms import actions as comms_actions
from comms.maintenance import actions
from comms.models import Audience, Component, ComponentStatus, Kind
from tests.comms.maintenance.conftest import plan
from tests.conftest import requires_postgres, wait_for


def status_of(product):
    return Component.objects.get(product=product).status


def draft(incident, by, component_status):
    return comms_actions.draft_communication(
        incident,
        audience=Audience.EXTERNAL,
        kind=Kind.INITIAL,
        by=by,
        summary="Checkout fails for some customers.",
        component_status=component_status,
    )


@pytest.mark.django_db
def test_refreshing_with_no_transaction_open_takes_its_own(clock, manager, products):
    plan(manager, products)
    clock.shift(timedelta(minutes=60))
    actions.advance_maintenances()
    Component.objects.update(status=ComponentStatus.OPERATIONAL)

    # No caller's transaction: the suite's lock guard fails a lock taken outside one.
    comms_actions.refresh_components([p.pk for p in products], timezone.now())

    assert [status_of(p) for p in products] == [ComponentStatus.MAINTENANCE] * 2


@pytest.mark.django_db
def test_an_update_setting_no_status_keeps_the_products_own(clock, manager, products, incident):
    plan(manager, products)
    clock.shift(timedelta(minutes=60))
    actions.advance_maintenances()
    comms_actions.set_component_status(products[0], status=ComponentStatus.DEGRADED, by=manager)

    comms_actions.publish_communication(draft(incident, manager, ""), by=manager)

    assert status_of(products[0]) == ComponentStatus.DEGRADED
    assert status_of(products[1]) == ComponentStatus.MAINTENANCE


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["publish", "tick"])
def test_an_update_and_a_maintenance_starting_at_once_keep_the_worst(
    manager, products, incident, first, monkeypatch
):
    plan(manager, products, starts_in=-1, lasts=60)
    update = draft(incident, manager, ComponentStatus.PARTIAL)
    holding, rival_seen = threading.Event(), []
    read = comms_actions.products_under_maintenance

    def held(product_ids):
        # The first refresh, its product locks taken, waits until the other one is
        # queued behind them: the race happens every run, in the order asked.
        if not holding.is_set():
            holding.set()
            rival_seen.append(wait_for(blocks_a_rival, seconds=10))
        return read(product_ids)

    monkeypatch.setattr(comms_actions, "products_under_maintenance", held)
    runs = {
        "publish": lambda: comms_actions.publish_communication(update, by=manager),
        "tick": actions.advance_maintenances,
    }

    def run(name):
        try:
            runs[name]()
        finally:
            connection.close()

    second = next(name for name in runs if name != first)
    threads = [threading.Thread(target=run, args=(name,)) for name in (first, second)]
    threads[0].start()
    assert holding.wait(10)
    threads[1].start()
    for thread in threads:
        thread.join(timeout=60)

    assert rival_seen == [True]
    # The second read the first's change once it committed: the worst of both.
    assert [status_of(p) for p in products] == [ComponentStatus.PARTIAL] * 2


def blocks_a_rival():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted"
            " AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
        )
        return cursor.fetchone()[0]
