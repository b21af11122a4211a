"""On-call pages: who reads, who edits, bad input, the incident panel and ack links."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.urls import reverse

from oncall import delivery
from oncall.models import ContactMethod, Page, PageState, TeamAdmin
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def roster(make_roster, team):
    return make_roster("payments-im", people=["pia", "pat"], team=team)


@pytest.fixture
def team_admin(team):
    user = UserFactory(username="tad", group="responder")
    TeamAdmin.objects.create(team=team, user=user)
    return user


@pytest.mark.parametrize(
    "name", ["oncall:index", "oncall:calendar", "oncall:gaps", "oncall:contacts"]
)
def test_everyone_signed_in_reads_the_pages(client_for, support, roster, imoc, name):
    response = client_for(support).get(reverse(name))
    assert response.status_code == 200
    if name == "oncall:index":
        assert b"@pia" in response.content
        assert b"IMOC" in response.content


def test_signed_out_goes_to_login(client, roster):
    response = client.get(reverse("oncall:index"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_index_query_count_does_not_grow_with_rosters(
    client_for, support, make_roster, django_assert_num_queries
):
    client = client_for(support)
    for n in range(3):
        make_roster(f"r{n}", people=[f"u{n}a", f"u{n}b"], team=TeamFactory())
    client.get(reverse("oncall:index"))  # the permissions kept (config/auth.py)
    # Rotations and their members: two queries.
    with django_assert_num_queries(6):
        client.get(reverse("oncall:index"))
    for n in range(3, 12):
        make_roster(f"r{n}", people=[f"u{n}a"], team=TeamFactory())
    with django_assert_num_queries(6):
        client.get(reverse("oncall:index"))


def test_calendar_draws_a_bar_per_shift(client_for, support, roster):
    response = client_for(support).get(reverse("oncall:calendar"))
    assert response.content.count(b'class="cal-bar cal-c') >= 4


def test_gaps_page_lists_the_empty_imoc(client_for, support, imoc):
    response = client_for(support).get(reverse("oncall:gaps"))
    assert b"IMOC" in response.content
    assert b"Nobody on call from" in response.content


def test_reader_sees_no_editor_and_cannot_post(client_for, support, roster):
    client = client_for(support)
    assert b"Save rotation" not in client.get(reverse("oncall:roster", args=[roster.slug])).content
    response = client.post(
        reverse("oncall:participants", args=[roster.slug]), {"participants": "sam"}
    )
    assert response.status_code == 403
    assert [p.user.username for p in roster.participants.all()] == ["pia", "pat"]


def test_team_admin_edits_own_team_roster_only(client_for, team_admin, roster, make_roster, imoc):
    client = client_for(team_admin)
    response = client.post(
        reverse("oncall:participants", args=[roster.slug]), {"participants": "pat\npia"}
    )
    assert response.status_code == 302
    newest = roster.rotations.latest("effective_from")
    assert [p.user.username for p in newest.members.all()] == ["pat", "pia"]
    other = make_roster("other", people=["oz"], team=TeamFactory(slug="other"))
    assert (
        client.post(
            reverse("oncall:participants", args=[other.slug]), {"participants": ""}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("oncall:participants", args=[imoc.slug]), {"participants": ""}
        ).status_code
        == 403
    )


def test_global_admin_edits_the_imoc(client_for, admin_user, imoc):
    UserFactory(username="ivo")
    response = client_for(admin_user).post(
        reverse("oncall:participants", args=[imoc.slug]), {"participants": "ivo"}
    )
    assert response.status_code == 302
    assert imoc.participants.get().user.username == "ivo"


def test_unknown_participant_is_named(client_for, admin_user, roster):
    response = client_for(admin_user).post(
        reverse("oncall:participants", args=[roster.slug]), {"participants": "pia\nghost"}
    )
    assert response.status_code == 400
    assert b"No such user: ghost." in response.content


def test_bad_time_zone_is_refused_naming_the_field(client_for, admin_user, roster):
    data = {
        "name": "X",
        "shift_length": 1,
        "shift_unit": "weeks",
        "handoff_time": "09:00",
        "start_date": "2026-01-05",
        "time_zone": "Mars/Olympus",
    }
    response = client_for(admin_user).post(reverse("oncall:roster", args=[roster.slug]), data)
    assert response.status_code == 400
    assert b"not an IANA time zone" in response.content
    roster.refresh_from_db()
    assert roster.time_zone == "Europe/Paris"


def test_overlapping_override_shows_the_clash(client_for, admin_user, roster):
    client = client_for(admin_user)
    url = reverse("oncall:override_add", args=[roster.slug])
    first = {"user": "pat", "starts_at": "2026-03-03T09:00", "ends_at": "2026-03-04T09:00"}
    assert client.post(url, first).status_code == 302
    second = {"user": "pia", "starts_at": "2026-03-03T12:00", "ends_at": "2026-03-05T09:00"}
    response = client.post(url, second)
    assert response.status_code == 400
    assert b"Overlaps the override of pat" in response.content
    assert roster.overrides.count() == 1


def test_unknown_roster_is_404(client_for, support):
    assert client_for(support).get(reverse("oncall:roster", args=["nope"])).status_code == 404


def test_person_adds_a_contact_method_and_bad_url_is_refused(client_for, responder):
    client = client_for(responder)
    response = client.post(reverse("oncall:contacts"), {"kind": "webhook", "target": "not a url"})
    assert response.status_code == 400
    assert b"Enter a valid address" in response.content
    assert (
        client.post(
            reverse("oncall:contacts"), {"kind": "email", "target": "r@example.com"}
        ).status_code
        == 302
    )
    assert ContactMethod.objects.get(user=responder).target == "r@example.com"


@pytest.fixture
def paged(roster):
    incident = make_incident(severity=1, faulty_service=ServiceFactory(team=roster.team))
    return incident.pages.get()


def test_incident_panel_shows_pages_and_attempts(client_for, manager, paged, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    delivery.deliver(paged.pk)
    response = client_for(manager).get(paged.incident.get_absolute_url())
    assert b'id="oncall-panel"' in response.content
    assert b"pia" in response.content
    assert b"sent to pia@example.com" in response.content


def test_ack_link_needs_login_then_shows_a_button_and_acknowledges(client, client_for, paged):
    url = reverse("oncall:acknowledge_link", args=[delivery.ack_token(paged)])
    assert client.get(url).status_code == 302
    pia = paged.user
    pia.groups.add(*UserFactory(username="x", group="responder").groups.all())
    response = client_for(pia).get(url)
    assert response.status_code == 200
    assert b"Acknowledge: stop escalating" in response.content
    paged.refresh_from_db()
    assert paged.state == PageState.PENDING
    assert client_for(pia).post(url).status_code == 302
    paged.refresh_from_db()
    assert paged.state == PageState.ACKNOWLEDGED


def test_expired_or_forged_ack_link(client_for, manager, paged, time_machine):
    url = reverse("oncall:acknowledge_link", args=[delivery.ack_token(paged)])
    time_machine.shift(timedelta(days=2))
    assert client_for(manager).get(url).status_code == 410
    forged = signing.TimestampSigner(salt="other").sign(str(paged.pk))
    assert (
        client_for(manager).get(reverse("oncall:acknowledge_link", args=[forged])).status_code
        == 404
    )


def test_support_cannot_acknowledge_someone_elses_page(client_for, support, paged):
    response = client_for(support).post(reverse("oncall:page_acknowledge", args=[paged.pk]))
    assert response.status_code == 403
    assert Page.objects.get(pk=paged.pk).state == PageState.PENDING


def test_manual_page_from_the_incident_page(client_for, manager, paged):
    url = reverse("oncall:incident_page", args=[paged.incident.key])
    response = client_for(manager).post(url, {"user": "pat", "message": "Need you on the call"})
    assert response.status_code == 302
    assert paged.incident.pages.filter(user__username="pat", reason="manual").exists()


def test_support_may_not_page_manually(client_for, support, paged):
    url = reverse("oncall:incident_page", args=[paged.incident.key])
    assert client_for(support).post(url, {"user": "pat", "message": "x"}).status_code == 403


def test_roster_feed_is_valid_icalendar_without_login(client, roster):
    from icalendar import Calendar

    response = client.get(reverse("oncall:roster_feed", args=[roster.feed_token]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    assert events
    assert all(event.get("uid") and event.get("dtstamp") for event in events)
    assert "pia" in str(events[0]["summary"]) or "pat" in str(events[0]["summary"])
    assert client.get(reverse("oncall:roster_feed", args=["wrong"])).status_code == 404


def test_person_feed_lists_only_their_shifts(client, roster):
    from icalendar import Calendar

    from oncall import feeds

    pia = roster.participants.first().user
    response = client.get(feeds.person_feed_path(pia))
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert events
    assert all("pia" in str(event["summary"]) for event in events)
    assert client.get(reverse("oncall:person_feed", args=["1:forged"])).status_code == 404
