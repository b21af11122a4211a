"""The status page read by other tools: CORS and caching of the Statuspage JSON, the
components document, each update's old and new component status, links from SITE_URL,
and the 90-day uptime history."""

import json
import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from comms import actions
from comms.models import Audience, Component, ComponentStatus, ComponentStatusChange, Kind
from comms.uptime import uptime_history
from tests.comms.conftest import count_queries
from tests.factories import ProductFactory, make_incident

pytestmark = pytest.mark.django_db

DOCUMENTS = [
    "/api/v2/status.json",
    "/api/v2/summary.json",
    "/api/v2/components.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/incidents.json",
]


def publish(incident, by, kind=Kind.INITIAL, **fields):
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=kind, by=by, **fields
    )
    return actions.publish_communication(draft, by=by)


@pytest.mark.parametrize("url", DOCUMENTS)
def test_documents_allow_any_origin_and_can_be_cached(products, url):
    response = Client().get(url, HTTP_ORIGIN="http://widget.example")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "public" in response["Cache-Control"]
    assert "max-age=30" in response["Cache-Control"]
    assert response["ETag"].startswith('"')
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("url", DOCUMENTS)
def test_the_same_etag_answers_304_without_a_body(products, url):
    etag = Client().get(url)["ETag"]

    again = Client().get(url, HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert again.content == b""
    assert again["Access-Control-Allow-Origin"] == "*"
    assert again["ETag"] == etag


def test_a_status_change_changes_the_etag(products, manager):
    etag = Client().get("/api/v2/status.json")["ETag"]
    actions.set_component_status(products[0], status=ComponentStatus.MAJOR, by=manager)

    response = Client().get("/api/v2/status.json", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert json.loads(response.content)["status"]["indicator"] == "critical"


@pytest.mark.parametrize("url", DOCUMENTS)
def test_head_answers_the_headers_without_a_body(products, url):
    get = Client().get(url)

    head = Client().head(url)

    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == get["ETag"]
    assert head["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("url", DOCUMENTS)
def test_a_cors_preflight_is_answered(db, url):
    response = Client().options(
        url,
        HTTP_ORIGIN="http://widget.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="cache-control, if-none-match",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "cache-control, if-none-match"
    assert int(response["Access-Control-Max-Age"]) >= 600


@pytest.mark.parametrize("url", DOCUMENTS)
def test_writing_methods_are_refused(db, url):
    response = Client().post(url, {"x": "1"})

    assert response.status_code == 405
    assert response["Access-Control-Allow-Origin"] == "*"


def test_an_accept_header_for_html_still_gets_json(products):
    response = Client().get("/api/v2/summary.json", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert json.loads(response.content)["page"]["id"] == "hotline"


def test_components_json_has_statuspage_shape(products, manager):
    actions.set_component_status(products[0], status=ComponentStatus.PARTIAL, by=manager)

    data = json.loads(Client().get("/api/v2/components.json").content)

    assert set(data) == {"page", "components"}
    assert [(c["id"], c["name"], c["status"], c["position"]) for c in data["components"]] == [
        ("confluence", "Confluence", "operational", 1),
        ("jira", "Jira", "partial_outage", 2),
    ]
    assert set(data["components"][0]) == {
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "position",
        "description",
        "showcase",
        "start_date",
        "group_id",
        "page_id",
        "group",
        "only_show_if_degraded",
    }


def test_each_update_names_the_old_and_new_status_of_its_components(manager, products):
    jira, _ = products
    outage = make_incident(summary="Jira is down", severity=1, products=[jira])
    publish(outage, manager)
    publish(
        outage,
        manager,
        Kind.FOLLOW_UP,
        summary="Most requests work again.",
        component_status=ComponentStatus.PARTIAL,
    )
    publish(outage, manager, Kind.FOLLOW_UP, summary="Still recovering.", component_status="")
    publish(outage, manager, Kind.FINAL, summary="Fixed.")

    data = json.loads(Client().get("/api/v2/incidents.json").content)

    (incident,) = data["incidents"]
    changes = [
        [(c["code"], c["old_status"], c["new_status"]) for c in update["affected_components"]]
        for update in reversed(incident["incident_updates"])
    ]
    assert changes == [
        [("jira", "operational", "major_outage")],
        [("jira", "major_outage", "partial_outage")],
        # An update that sets no status still reports the one it was published under.
        [("jira", "partial_outage", "partial_outage")],
        [("jira", "partial_outage", "operational")],
    ]


def test_update_lists_in_json_take_constant_queries(manager, products):
    def read():
        Client().get("/api/v2/incidents.json")

    incident = make_incident(summary="Jira is down", severity=1, products=products)
    publish(incident, manager)
    few = count_queries(read)
    for n in range(4):
        other = make_incident(summary=f"Outage {n}", severity=2, products=products)
        publish(other, manager)
        publish(other, manager, Kind.FOLLOW_UP, summary="Fixing.")

    assert count_queries(read) == few


@pytest.mark.parametrize("url", ["/api/v2/summary.json", "/api/v2/incidents.json"])
def test_links_come_from_site_url_not_from_a_forged_host(manager, products, settings, url):
    settings.SITE_URL = "https://status.hotline.example"
    settings.ALLOWED_HOSTS = ["*"]  # a deployment that accepts any Host
    publish(make_incident(summary="Jira is down", severity=1, products=products), manager)

    data = json.loads(Client(HTTP_HOST="evil.example").get(url).content)

    assert data["page"]["url"] == "https://status.hotline.example/status/"
    for incident in data["incidents"]:
        assert incident["shortlink"] == f"https://status.hotline.example/status/#{incident['id']}"
    assert "evil.example" not in json.dumps(data)


# The uptime history ------------------------------------------------------------------


def _at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def history(manager, products, time_machine):
    """Jira: created 100 days ago; a major outage for two hours five days ago, partly
    over midnight; then a day of degraded performance set by hand two days ago."""
    time_machine.move_to(_at("2026-08-25T09:00:00"), tick=False)
    jira, confluence = products
    for product in products:
        Component.objects.create(product=product)
    time_machine.move_to(_at("2026-11-28T23:00:00"), tick=False)
    outage = make_incident(summary="Jira is down", severity=1, products=[jira])
    publish(outage, manager)
    time_machine.move_to(_at("2026-11-29T01:00:00"), tick=False)
    publish(outage, manager, Kind.FINAL, summary="Fixed.")
    time_machine.move_to(_at("2026-12-01T06:00:00"), tick=False)
    actions.set_component_status(jira, status=ComponentStatus.DEGRADED, by=manager)
    time_machine.move_to(_at("2026-12-02T06:00:00"), tick=False)
    actions.set_component_status(jira, status=ComponentStatus.OPERATIONAL, by=manager)
    time_machine.move_to(_at("2026-12-03T12:00:00"), tick=False)
    return jira, confluence


def _days(product):
    component = Component.objects.get(product=product)
    return {day.day.isoformat(): day for day in uptime_history([component])[component.pk].days}


def test_each_day_shows_its_worst_status_and_how_long(history):
    jira, confluence = history
    days = _days(jira)

    assert len(days) == 90
    assert min(days) == "2026-09-05"
    assert max(days) == "2026-12-03"
    assert days["2026-11-27"].status == "operational"
    assert days["2026-11-28"].status == "major_outage"
    assert days["2026-11-28"].downtimes == [("Major outage", "1 hour")]
    assert days["2026-11-28"].incidents == [outage_name(jira)]
    assert days["2026-11-29"].status == "major_outage"
    assert days["2026-11-30"].status == "operational"
    assert days["2026-12-01"].status == "degraded_performance"
    assert days["2026-12-01"].downtimes == [("Degraded performance", "18 hours")]
    assert days["2026-12-01"].incidents == []  # set by hand: no incident to name
    assert days["2026-12-02"].downtimes == [("Degraded performance", "6 hours")]
    assert days["2026-12-03"].status == "operational"
    assert {d.status for d in _days(confluence).values()} == {"operational"}


def outage_name(product):
    return ComponentStatusChange.objects.filter(
        component__product=product, update__isnull=False
    ).values_list("update__page_incident__name", flat=True)[0]


def test_days_before_a_product_existed_have_no_data(manager, time_machine):
    time_machine.move_to(_at("2026-12-01T12:00:00"), tick=False)
    product = ProductFactory(name="Bamboo", slug="bamboo")
    component = Component.objects.create(product=product)
    time_machine.move_to(_at("2026-12-03T12:00:00"), tick=False)

    days = uptime_history([component])[component.pk].days

    assert [day.status for day in days[-4:]] == [None, "operational", "operational", "operational"]
    assert not days[0].has_data


def test_uptime_counts_major_outages_fully_and_partial_ones_at_30_percent(manager, time_machine):
    time_machine.move_to(_at("2026-09-01T00:00:00"), tick=False)
    product = ProductFactory(name="Bamboo", slug="bamboo")
    component = Component.objects.create(product=product)
    time_machine.move_to(_at("2026-12-01T00:00:00"), tick=False)
    actions.set_component_status(product, status=ComponentStatus.MAJOR, by=manager)
    time_machine.move_to(_at("2026-12-01T12:00:00"), tick=False)
    actions.set_component_status(product, status=ComponentStatus.PARTIAL, by=manager)
    time_machine.move_to(_at("2026-12-02T00:00:00"), tick=False)
    actions.set_component_status(product, status=ComponentStatus.OPERATIONAL, by=manager)
    time_machine.move_to(_at("2026-12-03T00:00:00"), tick=False)

    uptime = uptime_history([component])[component.pk]

    # 89 full days; 12 h major + 12 h partial: (12 + 0.3 * 12) / (89 * 24) hours down.
    assert uptime.percent == round(100 * (1 - 15.6 / (89 * 24)), 2)


def test_the_public_page_shows_the_bars_with_their_tooltips(history):
    page = Client().get("/status/").content.decode()

    assert page.count('class="uptime-day ') == 180
    assert page.count("uptime-day uptime-major_outage") == 2
    assert page.count("uptime-day uptime-degraded_performance") == 2
    assert "Major outage for 1 hour" in page
    assert "No downtime recorded on this day." in page
    assert re.search(r"\d+\.\d\d % uptime", page)


def test_a_restricted_incidents_name_never_reaches_the_tooltip(history, manager, time_machine):
    jira, _ = history
    outage = make_incident(summary="Jira is down", severity=1, products=[jira])
    page_incident = publish(outage, manager).page_incident
    outage.restricted = True
    outage.save(update_fields=["restricted"])
    time_machine.move_to(_at("2026-12-03T13:00:00"), tick=False)

    days = _days(jira)

    assert page_incident.name not in days["2026-12-03"].incidents
    assert days["2026-12-03"].status == "major_outage"


def test_the_uptime_history_takes_two_queries_whatever_the_rows(history, manager):
    components = list(Component.objects.all())
    assert count_queries(lambda: uptime_history(components)) == 2
    for n in range(5):
        product = ProductFactory(name=f"Product {n}", slug=f"product-{n}")
        actions.set_component_status(product, status=ComponentStatus.PARTIAL, by=manager)
        actions.set_component_status(product, status=ComponentStatus.OPERATIONAL, by=manager)
    components = list(Component.objects.all())

    assert count_queries(lambda: uptime_history(components)) == 2


def test_the_public_page_queries_do_not_grow_with_products_or_changes(
    history, manager, django_assert_max_num_queries
):
    def read():
        Client().get("/status/")

    few = count_queries(read)
    for n in range(5):
        product = ProductFactory(name=f"Product {n}", slug=f"product-{n}")
        actions.set_component_status(product, status=ComponentStatus.PARTIAL, by=manager)
        actions.set_component_status(product, status=ComponentStatus.OPERATIONAL, by=manager)
    read()  # the new products' components are created on the first read

    with django_assert_max_num_queries(few):
        read()


def test_the_page_without_history_shows_operational_bars_since_creation(products):
    page = Client().get("/status/").content.decode()

    # Created today: the earlier days have no data, today is operational.
    assert page.count("uptime-day uptime-none") == 2 * 89
    assert page.count("uptime-day uptime-operational") == 2


def test_the_history_window_ends_today_in_utc(products, time_machine):
    time_machine.move_to(_at("2026-12-03T23:59:00"), tick=False)
    component = Component.objects.create(product=products[0])
    time_machine.move_to(_at("2026-12-04T00:30:00"), tick=False)

    days = uptime_history([component])[component.pk].days

    assert days[-1].day.isoformat() == "2026-12-04"
    assert days[-1].seconds == {"operational": 30 * 60}
    assert days[-2].seconds == {"operational": 60}


def test_the_migration_replays_updates_published_before_the_history(manager, products):
    from importlib import import_module

    from django.apps import apps

    replay = import_module("comms.migrations.0005_status_page").replay_published_updates
    jira, _ = products
    outage = make_incident(summary="Jira is down", severity=1, products=[jira])
    publish(outage, manager)
    slow = make_incident(summary="All is slow", severity=3, products=products)
    publish(slow, manager)
    publish(outage, manager, Kind.FINAL, summary="Fixed.")
    publish(slow, manager, Kind.FINAL, summary="Fixed.")
    recorded = list(
        ComponentStatusChange.objects.order_by("id").values_list(
            "component__product__slug", "old_status", "new_status", "changed_at", "update_id"
        )
    )
    ComponentStatusChange.objects.all().delete()

    replay(apps, None)

    replayed = list(
        ComponentStatusChange.objects.order_by("id").values_list(
            "component__product__slug", "old_status", "new_status", "changed_at", "update_id"
        )
    )
    assert replayed == recorded
    assert [(slug, new) for slug, _, new, _, _ in replayed] == [
        ("jira", "major_outage"),
        # The milder incident never hides the open outage.
        ("jira", "major_outage"),
        ("confluence", "degraded_performance"),
        ("jira", "degraded_performance"),
        ("jira", "operational"),
        ("confluence", "operational"),
    ]
