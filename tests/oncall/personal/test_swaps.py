"""Shift swaps: offered by the person on call, taken by a teammate, made an override;
both told by e-mail; shown in the calendar and the iCalendar feed."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from icalendar import Calendar

from comms.models import OutboundEmail
from incidents.actions import ActionRefused
from oncall import feeds, schedule
from oncall.models import Override
from oncall.personal import swaps
from oncall.personal.models import ShiftSwap, SwapState
from tests.conftest import requires_postgres
from tests.factories import UserFactory

from .conftest import NOW

# Within pia's week (Mon 2 Mar 09:00 Paris to Mon 9 Mar 09:00 Paris).
WED = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
THU = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)


def on_call(roster, at):
    return schedule.on_call(roster, at)


def test_a_taken_swap_becomes_an_override_and_tells_both(
    frozen, roster, pia, raf, django_capture_on_commit_callbacks
):
    swap = swaps.offer_swap(roster, by=pia, starts_at=WED, ends_at=THU, note="dentist")
    assert on_call(roster, WED + timedelta(hours=1)) == pia
    with django_capture_on_commit_callbacks() as callbacks:
        taken = swaps.take_swap(swap, by=raf)
    assert (taken.state, taken.taken_by) == (SwapState.TAKEN, raf)
    override = Override.objects.get()
    assert (override.user, override.starts_at, override.ends_at) == (raf, WED, THU)
    assert taken.override == override
    assert on_call(roster, WED + timedelta(hours=1)) == raf
    assert on_call(roster, THU) == pia
    emails = OutboundEmail.objects.order_by("to")
    assert [e.to for e in emails] == ["pia@example.com", "raf@example.com"]
    assert emails[0].subject == "Shift swap: raf covers pia on Payments Im"
    assert "from Wed 4 Mar 09:00 Europe/Paris\nuntil Thu 5 Mar 09:00 Europe/Paris" in emails[0].text
    assert len(callbacks) == 2  # each e-mail is sent after commit


def test_the_swap_shows_in_the_calendar_and_the_feed(frozen, roster, pia, raf, client_for):
    swaps.take_swap(swaps.offer_swap(roster, by=pia, starts_at=WED, ends_at=THU), by=raf)
    html = client_for(raf).get(reverse("oncall:calendar"), {"tz": "Europe/Paris"}).content
    assert "Rafael Ortiz: Wed 4 Mar 09:00 to Thu 5 Mar 09:00 (override)" in html.decode()
    feed = client_for(raf).get(feeds.roster_feed_path(roster))
    calendar = Calendar.from_ical(feed.content)
    events = [
        (str(e["summary"]), e.decoded("dtstart"), e.decoded("dtend"))
        for e in calendar.walk("VEVENT")
    ]
    assert any("raf" in summary and (start, end) == (WED, THU) for summary, start, end in events)


def test_only_your_own_rotation_time_can_be_offered(frozen, roster, raf):
    with pytest.raises(ActionRefused) as refused:
        swaps.offer_swap(roster, by=raf, starts_at=WED, ends_at=THU)
    assert refused.value.field == "starts_at"
    assert not ShiftSwap.objects.exists()


def test_a_past_or_backwards_offer_is_refused(frozen, roster, pia):
    with pytest.raises(ActionRefused) as refused:
        swaps.offer_swap(roster, by=pia, starts_at=THU, ends_at=WED)
    assert refused.value.field == "ends_at"
    with pytest.raises(ActionRefused) as refused:
        swaps.offer_swap(roster, by=pia, starts_at=NOW - timedelta(hours=1), ends_at=THU)
    assert refused.value.field == "starts_at"


def test_an_outsider_cannot_take_and_nobody_takes_their_own(frozen, roster, pia):
    swap = swaps.offer_swap(roster, by=pia, starts_at=WED, ends_at=THU)
    with pytest.raises(ActionRefused):
        swaps.take_swap(swap, by=UserFactory(username="ola"))
    with pytest.raises(ActionRefused):
        swaps.take_swap(swap, by=pia)
    swap.refresh_from_db()
    assert swap.state == SwapState.OPEN
    assert not Override.objects.exists()


def test_the_second_taker_gets_409_naming_the_first(frozen, roster, pia, raf, team, client_for):
    swap = swaps.offer_swap(roster, by=pia, starts_at=WED, ends_at=THU)
    ola = UserFactory(username="ola")
    team.members.add(ola)
    assert client_for(raf).post(reverse("oncall:swap_take", args=[swap.pk])).status_code == 302
    response = client_for(ola).post(reverse("oncall:swap_take", args=[swap.pk]))
    assert response.status_code == 409
    assert "raf took this swap first." in response.content.decode()
    assert Override.objects.get().user == raf


def test_the_swaps_page_offers_and_lists(frozen, roster, pia, client_for):
    client = client_for(pia)
    response = client.post(
        reverse("oncall:swaps"),
        {
            "roster": roster.slug,
            # The form's times are in the viewer's zone (the portal's, UTC, here).
            "starts_at": "2026-03-04T08:00",
            "ends_at": "2026-03-05T08:00",
            "note": "dentist",
        },
    )
    assert response.status_code == 302
    swap = ShiftSwap.objects.get()
    assert (swap.starts_at, swap.ends_at, swap.note) == (WED, THU, "dentist")
    html = client.get(reverse("oncall:swaps")).content.decode()
    assert "dentist" in html
    assert reverse("oncall:swap_withdraw", args=[swap.pk]) in html


def test_a_bad_offer_is_a_400_naming_the_field(frozen, roster, raf, client_for):
    response = client_for(raf).post(
        reverse("oncall:swaps"),
        {"roster": roster.slug, "starts_at": "2026-03-04T08:00", "ends_at": "soon"},
    )
    assert response.status_code == 400
    assert "ends_at" in response.context["form"].errors
    response = client_for(raf).post(
        reverse("oncall:swaps"),
        {"roster": roster.slug, "starts_at": "2026-03-04T08:00", "ends_at": "2026-03-05T08:00"},
    )
    assert response.status_code == 400
    assert "starts_at" in response.context["form"].errors
    assert not ShiftSwap.objects.exists()


def test_only_the_offerer_withdraws(frozen, roster, pia, raf, client_for):
    swap = swaps.offer_swap(roster, by=pia, starts_at=WED, ends_at=THU)
    response = client_for(raf).post(reverse("oncall:swap_withdraw", args=[swap.pk]))
    assert response.status_code == 400
    assert client_for(pia).post(reverse("oncall:swap_withdraw", args=[swap.pk])).status_code == 302
    swap.refresh_from_db()
    assert swap.state == SwapState.WITHDRAWN


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_taking_a_swap_over_http_commits_the_override(roster, pia, raf, client_for, time_machine):
    time_machine.move_to(NOW, tick=False)
    swap = swaps.offer_swap(roster, by=pia, starts_at=WED, ends_at=THU)
    response = client_for(raf).post(reverse("oncall:swap_take", args=[swap.pk]))
    assert response.status_code == 302
    swap.refresh_from_db()
    assert swap.state == SwapState.TAKEN
    assert Override.objects.get(swap=swap).user == raf
    assert OutboundEmail.objects.filter(message_id__startswith=f"<swap-{swap.pk}-").count() == 2
