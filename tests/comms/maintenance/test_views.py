"""The portal's maintenance pages: who sees and plans, bad input, and query counts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from comms.maintenance import actions
from comms.models import Maintenance, MaintenanceStatus
from tests.comms.conftest import count_queries
from tests.comms.maintenance.conftest import plan
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

LIST = "/comms/maintenances/"
NEW = "/comms/maintenances/new/"


def form(chosen, **overrides):
    data = {
        "title": "Database upgrade",
        "message": "Jira is read-only for up to two hours.",
        "products": [p.pk for p in chosen],
        "starts_at": "2026-12-03T10:00",
        "ends_at": "2026-12-03T12:00",
    }
    data.update(overrides)
    return data


def test_a_manager_plans_a_maintenance_from_the_form(clock, client_for, manager, products):
    client = client_for(manager)
    assert client.get(NEW).status_code == 200

    response = client.post(NEW, form(products))

    maintenance = Maintenance.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("comms:maintenance", args=[maintenance.pk])
    assert maintenance.starts_at == timezone.now() + timedelta(hours=1)
    assert maintenance.created_by == manager
    assert set(maintenance.products.all()) == set(products)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_at": "2026-12-03T09:30"}, "The end must come after the start."),
        ({"title": ""}, "This field is required."),
        ({"products": []}, "This field is required."),
        ({"starts_at": "tomorrow"}, "Enter a valid date/time."),
        ({"starts_at": "1999-12-03T10:00"}, "The start is before the year 2000."),
        ({"starts_at": "2026-12-03T06:00", "ends_at": "2026-12-03T07:00"}, "already over"),
    ],
)
def test_bad_input_answers_400_with_the_field_and_writes_nothing(
    clock, client_for, manager, products, overrides, message
):
    response = client_for(manager).post(NEW, form(products, **overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Maintenance.objects.exists()


def test_a_product_not_on_the_status_page_is_not_offered(clock, client_for, manager, products):
    hidden = ProductFactory(name="Internal wiki", slug="wiki", shown_on_status_page=False)

    response = client_for(manager).post(NEW, form([hidden]))

    assert response.status_code == 400
    assert "Internal wiki" not in response.content.decode()


@pytest.mark.parametrize("who", ["support", "responder"])
def test_people_who_do_not_publish_see_maintenances_but_cannot_plan(
    clock, client_for, manager, products, request, who
):
    maintenance = plan(manager, products)
    client = client_for(request.getfixturevalue(who))

    page = client.get(LIST)
    assert page.status_code == 200
    assert "Database upgrade" in page.content.decode()
    assert reverse("comms:maintenance_create") not in page.content.decode()
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form(products)).status_code == 403
    detail = f"/comms/maintenances/{maintenance.pk}/"
    assert client.post(detail, form(products, title="Mine now")).status_code == 403
    assert client.post(f"{detail}cancel/").status_code == 403
    maintenance.refresh_from_db()
    assert (maintenance.title, maintenance.status) == ("Database upgrade", "scheduled")


def test_an_outsider_sees_nothing(clock, client_for, outsider, manager, products):
    maintenance = plan(manager, products)
    client = client_for(outsider)

    assert client.get(LIST).status_code == 403
    assert client.get(f"/comms/maintenances/{maintenance.pk}/").status_code == 403


def test_an_unknown_maintenance_is_404(client_for, manager):
    assert client_for(manager).get("/comms/maintenances/999/").status_code == 404


def test_the_list_groups_running_upcoming_and_finished(clock, client_for, manager, products):
    running = plan(manager, products, title="Running now", starts_in=-10)
    actions.advance_maintenances()
    plan(manager, products, title="Next week", starts_in=7 * 24 * 60)
    cancelled = plan(manager, products, title="Called off")
    actions.cancel_maintenance(cancelled, by=manager)

    body = client_for(manager).get(LIST).content.decode()

    in_progress, rest = body.split("Upcoming", 1)
    upcoming, finished = rest.split("Completed and cancelled", 1)
    assert "Running now" in in_progress
    assert "Next week" in upcoming
    assert "Called off" in finished
    assert running.title not in upcoming + finished


def test_the_list_makes_the_same_queries_whatever_the_number_of_maintenances(
    clock, client_for, manager, products
):
    def one_of_each(n):
        plan(manager, [*products, ProductFactory()], title=f"Upcoming {n}")
        plan(manager, [ProductFactory()], title=f"Running {n}", starts_in=-1)
        finished = plan(manager, products, title=f"Cancelled {n}")
        actions.cancel_maintenance(finished, by=manager)
        actions.advance_maintenances()

    client = client_for(manager)
    one_of_each(0)
    client.get(LIST)  # the permissions kept (config/auth.py)
    few = count_queries(lambda: client.get(LIST))
    for n in range(1, 5):
        one_of_each(n)

    assert count_queries(lambda: client.get(LIST)) == few


def test_editing_shows_the_form_and_saves(clock, client_for, manager, products):
    maintenance = plan(manager, products)
    client = client_for(manager)
    detail = f"/comms/maintenances/{maintenance.pk}/"
    assert 'name="title"' in client.get(detail).content.decode()

    response = client.post(detail, form(products[:1], message="Only Jira, one hour."))

    assert response.status_code == 302
    maintenance.refresh_from_db()
    assert list(maintenance.products.all()) == products[:1]
    assert maintenance.updates.first().body == "Only Jira, one hour."


def test_a_bad_edit_answers_400_and_keeps_the_maintenance(clock, client_for, manager, products):
    maintenance = plan(manager, products)

    response = client_for(manager).post(
        f"/comms/maintenances/{maintenance.pk}/", form(products, ends_at="2026-12-03T09:59")
    )

    assert response.status_code == 400
    assert "The end must come after the start." in response.content.decode()
    maintenance.refresh_from_db()
    assert maintenance.ends_at == timezone.now() + timedelta(hours=3)


def test_cancelling_twice_answers_409(clock, client_for, manager, products):
    maintenance = plan(manager, products)
    client = client_for(manager)
    cancel = f"/comms/maintenances/{maintenance.pk}/cancel/"

    assert client.post(cancel).status_code == 302
    second = client.post(cancel)

    assert second.status_code == 409
    assert "already cancelled" in second.content.decode()
    assert 'name="title"' not in second.content.decode()  # a finished one has no form


@pytest.mark.django_db(transaction=True)
def test_plan_edit_and_cancel_over_http_without_a_wrapping_transaction(
    client_for, manager, products
):
    client = client_for(manager)
    start = timezone.localtime() + timedelta(days=1)
    data = form(
        products,
        starts_at=start.strftime("%Y-%m-%dT%H:%M"),
        ends_at=(start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    )

    assert client.post(NEW, data).status_code == 302
    maintenance = Maintenance.objects.get()
    detail = f"/comms/maintenances/{maintenance.pk}/"
    assert client.post(detail, {**data, "title": "Bigger upgrade"}).status_code == 302
    assert client.post(f"{detail}cancel/").status_code == 302

    maintenance.refresh_from_db()
    assert maintenance.title == "Bigger upgrade"
    assert maintenance.status == MaintenanceStatus.CANCELLED
    assert [u.status for u in maintenance.updates.all()] == ["cancelled", "scheduled"]
