"""Hand-off notices: one per shift start, told at the roster's local hour across a
daylight-saving change, to the incoming person (e-mail) and the team's chat."""

from datetime import UTC, date, datetime, timedelta

import pytest

from comms.models import ChatWebhook, Delivery, OutboundEmail
from oncall import actions
from oncall.personal import handoffs
from oncall.personal.models import HandoffNotice
from oncall.personal.tasks import post_handoff_notice, tell_handoffs
from tests.receivers import HttpReceiver

# Europe/Paris moves to summer time on Sunday 29 March 2026 at 01:00 UTC.
SATURDAY_HANDOFF = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 CET
SUNDAY_HANDOFF = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST


@pytest.fixture
def daily(make_roster, team, pia, raf):
    return make_roster(
        "payments-daily",
        people=["pia", "raf"],
        team=team,
        shift_unit="days",
        start_date=date(2026, 3, 27),
    )


def notices():
    return [(n.user.username, n.starts_at, n.text) for n in HandoffNotice.objects.order_by("pk")]


def test_the_incoming_person_is_told_at_the_local_hour_across_the_dst_change(
    time_machine, daily, django_capture_on_commit_callbacks
):
    time_machine.move_to(SATURDAY_HANDOFF - timedelta(seconds=30), tick=False)
    assert handoffs.send_due_notices() == 0

    time_machine.move_to(SATURDAY_HANDOFF + timedelta(seconds=30), tick=False)
    assert handoffs.send_due_notices() == 1
    assert handoffs.send_due_notices() == 0  # a second tick (or beat) writes nothing

    # One hour earlier in UTC on Sunday: still 09:00 in Paris.
    time_machine.move_to(SUNDAY_HANDOFF - timedelta(seconds=30), tick=False)
    assert handoffs.send_due_notices() == 0
    time_machine.move_to(SUNDAY_HANDOFF + timedelta(minutes=1), tick=False)
    assert handoffs.send_due_notices() == 1

    assert notices() == [
        (
            "raf",
            SATURDAY_HANDOFF,
            "raf is on call for Payments Daily until Sun 29 Mar 09:00 Europe/Paris.",
        ),
        (
            "pia",
            SUNDAY_HANDOFF,
            "pia is on call for Payments Daily until Mon 30 Mar 09:00 Europe/Paris.",
        ),
    ]
    # The Saturday shift was 23 hours long: the clocks went forward in it.
    saturday = HandoffNotice.objects.get(starts_at=SATURDAY_HANDOFF)
    assert saturday.ends_at - saturday.starts_at == timedelta(hours=23)
    emails = OutboundEmail.objects.order_by("pk")
    assert [(e.to, e.subject) for e in emails] == [
        ("raf@example.com", "You are on call for Payments Daily"),
        ("pia@example.com", "You are on call for Payments Daily"),
    ]
    assert "until Mon 30 Mar 09:00 Europe/Paris" in emails[1].text


def test_a_start_older_than_the_look_back_is_not_told_late(time_machine, daily):
    time_machine.move_to(SATURDAY_HANDOFF + handoffs.LOOKBACK + timedelta(seconds=1), tick=False)
    assert handoffs.send_due_notices() == 0
    assert not HandoffNotice.objects.exists()


def test_the_team_chat_gets_the_line_once(time_machine, daily, team):
    with HttpReceiver() as receiver:
        ChatWebhook.objects.create(team=team, url=receiver.url)
        time_machine.move_to(SATURDAY_HANDOFF + timedelta(seconds=5), tick=False)
        assert handoffs.send_due_notices() == 1
        notice = HandoffNotice.objects.get()
        assert notice.status == Delivery.PENDING
        post_handoff_notice.run(notice.pk)
        assert post_handoff_notice.run(notice.pk) == "nothing to do"
    assert len(receiver.requests) == 1
    assert "raf is on call for Payments Daily until Sun 29 Mar 09:00" in str(
        receiver.requests[0].json()
    )
    notice.refresh_from_db()
    assert notice.status == Delivery.SENT


def test_without_a_team_chat_the_notice_is_only_the_e_mail(time_machine, daily):
    time_machine.move_to(SATURDAY_HANDOFF + timedelta(seconds=5), tick=False)
    handoffs.send_due_notices()
    notice = HandoffNotice.objects.get()
    assert (notice.status, notice.webhook) == (Delivery.SENT, None)
    assert OutboundEmail.objects.count() == 1


def test_the_beat_task_twice_changes_nothing(time_machine, daily, private_broker):
    time_machine.move_to(SATURDAY_HANDOFF + timedelta(seconds=5), tick=False)
    assert tell_handoffs.run() == 1
    assert tell_handoffs.run() == 0
    assert HandoffNotice.objects.count() == 1
    assert OutboundEmail.objects.count() == 1


def test_an_override_start_is_a_hand_off_too(time_machine, daily, pia):
    starts = SATURDAY_HANDOFF + timedelta(hours=3)
    ends = starts + timedelta(hours=2)
    actions.add_override(daily, user=pia, starts_at=starts, ends_at=ends, by=pia)
    time_machine.move_to(starts + timedelta(seconds=5), tick=False)
    assert handoffs.send_due_notices() == 1
    notice = HandoffNotice.objects.get()
    assert (notice.user, notice.starts_at) == (pia, starts)
    assert notice.text.endswith("until Sat 28 Mar 14:00 Europe/Paris.")


def test_the_room_and_the_person_each_read_their_own_language(time_machine, daily, team, raf):
    from incidents.models import Preferences

    Preferences.objects.create(person=raf, language="ko")
    with HttpReceiver() as receiver:
        ChatWebhook.objects.create(team=team, url=receiver.url, language="en")
        time_machine.move_to(SATURDAY_HANDOFF + timedelta(seconds=5), tick=False)
        assert handoffs.send_due_notices() == 1
        post_handoff_notice.run(HandoffNotice.objects.get().pk)
    posted = str(receiver.requests[0].json())
    assert "raf is on call for Payments Daily until Sun 29 Mar 09:00" in posted
    mail = OutboundEmail.objects.get()
    assert mail.subject == "Payments Daily 온콜이 되었습니다"
    assert "3월 29일 (일요일) 09:00 Europe/Paris" in mail.text
