"""The maintenance API: the same rules as the portal, errors naming the field."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from comms.maintenance import actions
from comms.models import Maintenance, MaintenanceStatus
from tests.comms.maintenance.conftest import plan
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/comms/maintenances/"


def body(**overrides):
    start = timezone.now() + timedelta(hours=1)
    data = {
        "title": "Database upgrade",
        "message": "Jira is read-only for up to two hours.",
        "products": ["jira", "confluence"],
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
    }
    data.update(overrides)
    return data


def test_a_manager_plans_one(clock, api_for, manager, products):
    response = api_for(manager).post(URL, body(), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "scheduled"
    assert data["products"] == ["confluence", "jira"]
    assert data["created_by"] == "maya"
    assert data["public_id"] == f"mnt-{data['id']}"
    assert data["updates"] == [
        {
            "status": "scheduled",
            "body": "Jira is read-only for up to two hours.",
            "by": "maya",
            "created_at": data["created_at"],
        }
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ends_at": (timezone.now() - timedelta(days=3650)).isoformat()}, "ends_at"),
        ({"products": ["no-such-product"]}, "products"),
        ({"products": []}, "products"),
        ({"title": ""}, "title"),
        ({"starts_at": "soon"}, "starts_at"),
        ({"starts_at": "1990-01-01T00:00:00Z"}, "starts_at"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_nothing_is_written(
    clock, api_for, manager, products, overrides, field
):
    response = api_for(manager).post(URL, body(**overrides), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Maintenance.objects.exists()


def test_a_hidden_product_is_refused(clock, api_for, manager, products):
    ProductFactory(name="Internal wiki", slug="wiki", shown_on_status_page=False)

    response = api_for(manager).post(URL, body(products=["wiki"]), format="json")

    assert response.status_code == 400
    assert "products" in response.json()


@pytest.mark.parametrize("who", ["support", "responder", "outsider"])
def test_only_publishers_plan_edit_and_cancel(clock, api_for, manager, products, request, who):
    maintenance = plan(manager, products)
    client = api_for(request.getfixturevalue(who))

    assert client.post(URL, body(), format="json").status_code == 403
    assert client.patch(f"{URL}{maintenance.pk}/", {"title": "x"}, format="json").status_code == 403
    assert client.post(f"{URL}{maintenance.pk}/cancel/").status_code == 403
    maintenance.refresh_from_db()
    assert (maintenance.title, maintenance.status) == ("Database upgrade", "scheduled")


def test_staff_read_outsiders_do_not(clock, api_for, manager, support, outsider, products):
    maintenance = plan(manager, products)

    assert api_for(support).get(f"{URL}{maintenance.pk}/").status_code == 200
    assert api_for(support).get(URL).json()["count"] == 1
    assert api_for(outsider).get(URL).status_code == 403
    assert api_for(outsider).get(f"{URL}{maintenance.pk}/").status_code == 403


def test_signed_out_is_401(products):
    assert APIClient().get(URL).status_code == 401


def test_an_unknown_maintenance_is_404(api_for, manager):
    assert api_for(manager).get(f"{URL}999/").status_code == 404
    assert api_for(manager).post(f"{URL}999/cancel/").status_code == 404


def test_the_list_makes_a_fixed_number_of_queries(
    clock, api_for, manager, products, django_assert_max_num_queries
):
    for n in range(8):
        m = plan(manager, [*products, ProductFactory()], title=f"Upgrade {n}", starts_in=n)
        actions.update_maintenance(m, by=manager, message=f"Update {n}")
    client = api_for(manager)

    with django_assert_max_num_queries(8):
        response = client.get(URL)

    assert response.json()["count"] == 8
    assert response.json()["results"][0]["title"] == "Upgrade 7"


def test_patch_changes_only_what_it_names(clock, api_for, manager, products):
    maintenance = plan(manager, products)

    response = api_for(manager).patch(
        f"{URL}{maintenance.pk}/", {"products": ["jira"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["products"] == ["jira"]
    assert response.json()["title"] == "Database upgrade"


def test_patching_a_running_maintenance_start_is_400(clock, api_for, manager, products):
    maintenance = plan(manager, products, starts_in=-5)
    actions.advance_maintenances()

    response = api_for(manager).patch(
        f"{URL}{maintenance.pk}/", {"starts_at": timezone.now().isoformat()}, format="json"
    )

    assert response.status_code == 400
    assert "starts_at" in response.json()


def test_cancelling_twice_is_409(clock, api_for, manager, products):
    maintenance = plan(manager, products)
    client = api_for(manager)

    first = client.post(f"{URL}{maintenance.pk}/cancel/")
    second = client.post(f"{URL}{maintenance.pk}/cancel/")

    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    assert second.status_code == 409
    assert "already cancelled" in second.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_plan_patch_and_cancel_over_http_without_a_wrapping_transaction(api_for, manager, products):
    client = api_for(manager)

    created = client.post(URL, body(), format="json")
    pk = created.json()["id"]
    patched = client.patch(f"{URL}{pk}/", {"message": "Two hours at most."}, format="json")
    cancelled = client.post(f"{URL}{pk}/cancel/")

    assert (created.status_code, patched.status_code, cancelled.status_code) == (201, 200, 200)
    maintenance = Maintenance.objects.get(pk=pk)
    assert maintenance.status == MaintenanceStatus.CANCELLED
    assert maintenance.updates.count() == 3
