"""Planning, editing, cancelling and the beat tick: rows, history, statuses, mail."""

from datetime import timedelta

import pytest
from django.utils import timezone

from comms import actions as comms_actions
from comms import tasks
from comms.maintenance import actions
from comms.models import (
    Audience,
    Component,
    ComponentStatus,
    Kind,
    Maintenance,
    MaintenanceStatus,
    OutboundEmail,
    Subscriber,
)
from incidents.actions import ActionRefused
from tests.comms.maintenance.conftest import plan, subscriber
from tests.factories import ProductFactory, make_incident

pytestmark = pytest.mark.django_db


def status_of(product):
    return Component.objects.get(product=product).status


def test_planning_records_the_window_and_its_first_update(clock, manager, products):
    maintenance = plan(manager, products)

    assert maintenance.status == MaintenanceStatus.SCHEDULED
    assert set(maintenance.products.all()) == set(products)
    [update] = maintenance.updates.all()
    assert (update.status, update.body, update.by) == (
        MaintenanceStatus.SCHEDULED,
        "Jira is read-only for up to two hours.",
        manager,
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "  "}, "title"),
        ({"message": ""}, "message"),
        ({"products": []}, "products"),
        ({"lasts": 0}, "ends_at"),
        ({"lasts": -30}, "ends_at"),
        ({"starts_in": -60, "lasts": 30}, "ends_at"),
    ],
)
def test_bad_plans_are_refused_naming_the_field_and_write_nothing(
    clock, manager, products, fields, field
):
    chosen = fields.pop("products", products)
    with pytest.raises(ActionRefused) as refused:
        plan(manager, chosen, **fields)

    assert refused.value.field == field
    assert not Maintenance.objects.exists()


def test_a_product_hidden_from_the_status_page_cannot_be_planned(clock, manager):
    hidden = ProductFactory(name="Internal wiki", slug="wiki", shown_on_status_page=False)

    with pytest.raises(ActionRefused) as refused:
        plan(manager, [hidden])

    assert refused.value.field == "products"


def test_the_tick_starts_a_due_maintenance_and_puts_its_products_under_maintenance(
    clock, manager, products
):
    maintenance = plan(manager, products[:1])
    assert actions.advance_maintenances() == actions.Advanced(started=0, completed=0)

    clock.shift(timedelta(minutes=60))
    moved = actions.advance_maintenances()

    maintenance.refresh_from_db()
    assert moved == actions.Advanced(started=1, completed=0)
    assert maintenance.status == MaintenanceStatus.IN_PROGRESS
    assert maintenance.started_at == timezone.now()
    assert status_of(products[0]) == ComponentStatus.MAINTENANCE
    assert (
        not Component.objects.filter(product=products[1])
        .exclude(status=ComponentStatus.OPERATIONAL)
        .exists()
    )
    assert maintenance.updates.first().status == MaintenanceStatus.IN_PROGRESS


def test_the_tick_completes_it_at_the_end_and_the_products_are_operational_again(
    clock, manager, products
):
    maintenance = plan(manager, products)
    clock.shift(timedelta(minutes=61))
    actions.advance_maintenances()

    clock.shift(timedelta(minutes=120))
    moved = actions.advance_maintenances()

    maintenance.refresh_from_db()
    assert moved == actions.Advanced(started=0, completed=1)
    assert maintenance.status == MaintenanceStatus.COMPLETED
    assert maintenance.ended_at == timezone.now()
    assert [status_of(p) for p in products] == [ComponentStatus.OPERATIONAL] * 2
    assert [u.status for u in maintenance.updates.all()] == [
        MaintenanceStatus.COMPLETED,
        MaintenanceStatus.IN_PROGRESS,
        MaintenanceStatus.SCHEDULED,
    ]


def test_a_second_run_of_the_task_changes_nothing(clock, manager, products):
    maintenance = plan(manager, products)
    subscriber("ann@example.com")
    clock.shift(timedelta(minutes=60))

    assert tasks.advance_maintenances() == "started 1, completed 0"
    rows = (Maintenance.objects.get().updated_at, maintenance.updates.count())
    mails = OutboundEmail.objects.count()
    assert tasks.advance_maintenances() == "started 0, completed 0"

    assert (Maintenance.objects.get().updated_at, maintenance.updates.count()) == rows
    assert OutboundEmail.objects.count() == mails == 1


def test_a_window_missed_entirely_still_starts_and_completes_in_one_tick(clock, manager, products):
    maintenance = plan(manager, products, starts_in=10, lasts=20)
    subscriber("ann@example.com")
    clock.shift(timedelta(hours=5))

    assert actions.advance_maintenances() == actions.Advanced(started=1, completed=1)

    maintenance.refresh_from_db()
    assert maintenance.status == MaintenanceStatus.COMPLETED
    assert [status_of(p) for p in products] == [ComponentStatus.OPERATIONAL] * 2
    assert OutboundEmail.objects.count() == 2


def publish_external(incident, by, component_status, kind=Kind.INITIAL):
    draft = comms_actions.draft_communication(
        incident,
        audience=Audience.EXTERNAL,
        kind=kind,
        by=by,
        summary="Checkout fails for some customers.",
        component_status=component_status,
    )
    return comms_actions.publish_communication(draft, by=by)


def test_an_incident_worse_than_maintenance_wins_and_maintenance_returns_after_it(
    clock, manager, products, incident
):
    plan(manager, products)
    clock.shift(timedelta(minutes=60))
    actions.advance_maintenances()

    publish_external(incident, manager, ComponentStatus.PARTIAL)
    assert status_of(products[0]) == ComponentStatus.PARTIAL

    publish_external(incident, manager, ComponentStatus.OPERATIONAL, kind=Kind.FINAL)
    assert status_of(products[0]) == ComponentStatus.MAINTENANCE


def test_a_maintenance_starting_during_a_worse_incident_leaves_the_incident_status(
    clock, manager, products, incident
):
    publish_external(incident, manager, ComponentStatus.MAJOR)
    plan(manager, products)
    clock.shift(timedelta(minutes=60))

    actions.advance_maintenances()

    assert status_of(products[0]) == ComponentStatus.MAJOR
    clock.shift(timedelta(minutes=120))
    actions.advance_maintenances()
    assert status_of(products[0]) == ComponentStatus.MAJOR


def test_a_milder_incident_during_maintenance_keeps_the_products_under_maintenance(
    clock, manager, products, incident
):
    plan(manager, products)
    clock.shift(timedelta(minutes=60))
    actions.advance_maintenances()

    publish_external(incident, manager, ComponentStatus.OPERATIONAL)

    assert status_of(products[0]) == ComponentStatus.MAINTENANCE


def test_editing_an_upcoming_maintenance_moves_its_window(clock, manager, products):
    maintenance = plan(manager, products)
    later = timezone.now() + timedelta(days=1)

    actions.update_maintenance(
        maintenance, by=manager, starts_at=later, ends_at=later + timedelta(hours=1)
    )

    maintenance.refresh_from_db()
    assert maintenance.starts_at == later
    assert maintenance.updates.count() == 1  # the message did not change


def test_a_new_message_is_a_new_update(clock, manager, products):
    maintenance = plan(manager, products)

    actions.update_maintenance(maintenance, by=manager, message="Now read-only for one hour.")

    assert maintenance.updates.first().body == "Now read-only for one hour."
    assert maintenance.updates.count() == 2


def test_a_running_maintenance_keeps_its_start_but_may_change_products(clock, manager, products):
    maintenance = plan(manager, products[:1])
    clock.shift(timedelta(minutes=60))
    actions.advance_maintenances()

    with pytest.raises(ActionRefused) as refused:
        actions.update_maintenance(
            maintenance, by=manager, starts_at=timezone.now() + timedelta(minutes=5)
        )
    assert refused.value.field == "starts_at"

    actions.update_maintenance(maintenance, by=manager, products=products[1:])
    assert status_of(products[0]) == ComponentStatus.OPERATIONAL
    assert status_of(products[1]) == ComponentStatus.MAINTENANCE


def test_an_end_moved_into_the_past_is_refused(clock, manager, products):
    maintenance = plan(manager, products)

    with pytest.raises(ActionRefused) as refused:
        actions.update_maintenance(
            maintenance,
            by=manager,
            starts_at=timezone.now() - timedelta(hours=2),
            ends_at=timezone.now() - timedelta(hours=1),
        )

    assert refused.value.field == "ends_at"
    maintenance.refresh_from_db()
    assert maintenance.starts_at > timezone.now()


def test_cancelling_an_upcoming_maintenance_means_it_never_starts(clock, manager, products):
    maintenance = plan(manager, products)
    subscriber("ann@example.com")

    actions.cancel_maintenance(maintenance, by=manager)
    clock.shift(timedelta(minutes=60))
    actions.advance_maintenances()

    maintenance.refresh_from_db()
    assert maintenance.status == MaintenanceStatus.CANCELLED
    assert maintenance.updates.first().by == manager
    assert not Component.objects.filter(status=ComponentStatus.MAINTENANCE).exists()
    assert not OutboundEmail.objects.exists()


def test_cancelling_a_running_maintenance_ends_it_and_tells_subscribers(clock, manager, products):
    maintenance = plan(manager, products)
    subscriber("ann@example.com")
    clock.shift(timedelta(minutes=60))
    actions.advance_maintenances()

    actions.cancel_maintenance(maintenance, by=manager)

    assert [status_of(p) for p in products] == [ComponentStatus.OPERATIONAL] * 2
    assert OutboundEmail.objects.count() == 2


def test_a_finished_maintenance_can_neither_change_nor_be_cancelled_again(clock, manager, products):
    maintenance = plan(manager, products)
    actions.cancel_maintenance(maintenance, by=manager)

    for attempt in (
        lambda: actions.cancel_maintenance(maintenance, by=manager),
        lambda: actions.update_maintenance(maintenance, by=manager, title="Again"),
    ):
        with pytest.raises(ActionRefused) as refused:
            attempt()
        assert refused.value.status_code == 409


def test_only_subscribers_of_its_products_or_of_everything_are_mailed(clock, manager, products):
    other = ProductFactory(name="Bitbucket", slug="bitbucket")
    plan(manager, [products[0]])
    subscriber("all@example.com")
    subscriber("jira@example.com", products[0])
    subscriber("bitbucket@example.com", other)
    Subscriber.objects.create(email="unconfirmed@example.com")
    clock.shift(timedelta(minutes=60))

    actions.advance_maintenances()

    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == [
        "all@example.com",
        "jira@example.com",
    ]


def test_nothing_is_mailed_for_a_tick_that_rolls_back(clock, manager, products, monkeypatch):
    plan(manager, products)
    subscriber("ann@example.com")
    clock.shift(timedelta(minutes=60))

    def broken(*args, **kwargs):
        raise RuntimeError("the products' status could not be written")

    monkeypatch.setattr(actions, "refresh_components", broken)
    with pytest.raises(RuntimeError):
        actions.advance_maintenances()

    assert Maintenance.objects.get().status == MaintenanceStatus.SCHEDULED
    assert not OutboundEmail.objects.exists()


def test_incident_is_unaffected_by_a_maintenance_of_other_products(clock, manager, products):
    other = ProductFactory(name="Bitbucket", slug="bitbucket")
    make_incident(by=manager, products=[other])
    plan(manager, products)
    clock.shift(timedelta(minutes=60))

    actions.advance_maintenances()

    assert not Component.objects.filter(product=other, status=ComponentStatus.MAINTENANCE).exists()
