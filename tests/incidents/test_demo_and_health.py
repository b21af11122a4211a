"""The first-start data (migration groups, ``load_demo``), ``/healthz``, the heartbeat and
the expired sessions' clean-up."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from config.celery import app as celery_app
from config.health import HEARTBEAT_KEY
from incidents.models import Incident, Product, Service, Status, Team, TimelineEntry
from incidents.tasks import clear_expired_sessions, record_heartbeat

pytestmark = pytest.mark.django_db

DEMO_LOGINS = {
    "admin": "admin",
    "manager": "incident manager",
    "responder": "responder",
    "support": "support",
}


@pytest.fixture
def demo_on(settings):
    settings.DEMO_DATA = True


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "team members": Team.members.through.objects.count(),
        "user groups": User.groups.through.objects.count(),
        "services": Service.objects.count(),
        "products": Product.objects.count(),
        "incidents": Incident.objects.count(),
        "timeline entries": TimelineEntry.objects.count(),
    }


# The data migration ---------------------------------------------------------------------


def test_migration_creates_the_groups():
    names = set(Group.objects.values_list("name", flat=True))

    assert names >= {"support", "responder", "incident manager", "admin", "security"}


def test_migration_gives_the_groups_their_key_permissions():
    def perms(group: str) -> set[str]:
        return set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))

    assert {"view_incident", "add_incident", "label_case"} <= perms("support")
    assert "add_timelineentry" in perms("responder")
    assert {"claim_incident", "change_incident"} <= perms("incident manager")
    assert {"add_team", "change_service", "add_product"} <= perms("admin")
    assert "view_restricted_incident" in perms("security")
    assert "view_restricted_incident" not in perms("incident manager")


def test_migration_creates_the_unknown_service_without_a_team():
    unknown = Service.objects.get(slug="unknown")

    assert unknown.name == "Unknown"
    assert unknown.team is None
    assert unknown.is_unknown


def test_migration_creates_no_users():
    assert not User.objects.exists()


# load_demo ------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_on")
@pytest.mark.parametrize(("username", "group"), DEMO_LOGINS.items())
def test_demo_creates_the_documented_logins(username, group):
    load_demo()

    user = User.objects.get(username=username)
    assert user.check_password("demo")
    assert user.is_active
    assert list(user.groups.values_list("name", flat=True)) == [group]


@pytest.mark.usefixtures("demo_on")
def test_demo_admin_may_use_the_admin_site():
    load_demo()

    admin = User.objects.get(username="admin")
    assert admin.is_staff
    assert admin.is_superuser
    assert Client().login(username="admin", password="demo")


@pytest.mark.usefixtures("demo_on")
def test_demo_creates_teams_services_and_products():
    load_demo()

    assert Team.objects.count() >= 3
    assert all(team.members.exists() for team in Team.objects.all())
    assert set(Service.objects.values_list("slug", flat=True)) >= {
        "api-gateway",
        "web-frontend",
        "payments-api",
        "billing-worker",
        "auth",
        "unknown",
    }
    assert not Service.objects.exclude(slug="unknown").filter(team=None).exists()
    assert set(Product.objects.values_list("slug", flat=True)) >= {
        "web-app",
        "mobile-app",
        "public-api",
        "billing",
    }


@pytest.mark.usefixtures("demo_on")
def test_demo_creates_incidents_through_the_actions():
    output = load_demo()

    assert "Demo data ready." in output
    incidents = Incident.objects.all()
    assert incidents.count() >= 3
    assert sorted(incidents.values_list("number", flat=True)) == list(
        range(1, incidents.count() + 1)
    )
    assert incidents.filter(status=Status.RESOLVED).exists()
    assert incidents.open().exists()
    for incident in incidents:
        assert incident.timeline.filter(kind="created").count() == 1
        assert incident.affected_products.exists()


@pytest.mark.usefixtures("demo_on")
def test_second_demo_load_adds_nothing():
    load_demo()
    before = counts()

    load_demo()

    assert counts() == before


@pytest.mark.usefixtures("demo_on")
def test_second_demo_load_keeps_a_changed_password():
    load_demo()
    manager = User.objects.get(username="manager")
    manager.set_password("a better secret")
    manager.save()

    load_demo()

    manager.refresh_from_db()
    assert manager.check_password("a better secret")
    assert not manager.check_password("demo")


def test_demo_data_off_creates_no_user(settings):
    settings.DEMO_DATA = False
    before = counts()

    output = load_demo()

    assert not User.objects.exists()
    assert counts() == before
    assert "nothing loaded" in output


# /healthz -------------------------------------------------------------------------------


@pytest.fixture
def dead_broker():
    """Point the Celery app at a port where no broker listens; put it back after.

    Yields the real broker's URL."""
    saved = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    yield saved
    celery_app.conf.broker_url = saved


def test_healthz_needs_no_login_and_reports_ok():
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["worker_heartbeat"] is None


def test_healthz_is_never_cached():
    response = Client().get("/healthz")

    assert "no-cache" in response["Cache-Control"]


def test_healthz_only_answers_get():
    assert Client().post("/healthz").status_code == 405


@pytest.mark.usefixtures("dead_broker")
def test_healthz_is_unavailable_when_the_broker_is_unreachable():
    response = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]


def test_healthz_recovers_when_the_broker_is_back(dead_broker):
    assert Client().get("/healthz").status_code == 503

    celery_app.conf.broker_url = dead_broker

    assert Client().get("/healthz").status_code == 200


# record_heartbeat -----------------------------------------------------------------------

FIRST_BEAT = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def test_heartbeat_is_reported_by_healthz(time_machine):
    time_machine.move_to(FIRST_BEAT, tick=False)

    record_heartbeat.apply()

    body = Client().get("/healthz").json()
    assert body["worker_heartbeat"] == FIRST_BEAT.isoformat()


def test_second_heartbeat_just_updates_the_time(time_machine):
    time_machine.move_to(FIRST_BEAT, tick=False)
    record_heartbeat()
    time_machine.move_to(FIRST_BEAT + timedelta(seconds=30), tick=False)

    record_heartbeat()

    assert cache.get(HEARTBEAT_KEY) == (FIRST_BEAT + timedelta(seconds=30)).isoformat()
    body = Client().get("/healthz").json()
    assert body["worker_heartbeat"] == "2025-03-14T09:30:30+00:00"


# clear_expired_sessions -----------------------------------------------------------------


def test_expired_sessions_are_deleted_and_live_ones_kept(client_for, support, time_machine):
    time_machine.move_to(FIRST_BEAT, tick=False)
    stale = client_for(support)  # signed in, then gone for longer than a session lasts
    time_machine.move_to(FIRST_BEAT + timedelta(seconds=settings.SESSION_COOKIE_AGE + 1))
    live = client_for(support)
    assert Session.objects.count() == 2

    clear_expired_sessions.apply()
    clear_expired_sessions.apply()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session.session_key]
    assert live.get("/support/").status_code == 200
    assert stale.get("/support/").status_code == 302  # to the sign-in page


def test_beat_sends_the_clean_up_every_hour():
    entry = celery_app.conf.beat_schedule["clear-expired-sessions"]
    assert entry["schedule"] == 3600.0
    assert entry["task"] in celery_app.tasks
