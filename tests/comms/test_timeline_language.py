"""What communications write on the incident's timeline reads in the reader's language:
Korean for a Korean reader, the stored English text for an English one."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from comms import actions
from comms.models import Audience, Kind
from incidents import actions as incident_actions
from incidents import entry_texts
from incidents.models import EntryKind
from tests.comms.conftest import complete_follow_up

pytestmark = pytest.mark.django_db(transaction=True)

HANGUL = re.compile(r"[가-힣]")


def test_drafts_reviews_publications_and_reminders_read_in_korean(
    incident, manager, other_manager, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    incident_actions.claim_incident(incident, by=manager)
    draft = actions.draft_communication(
        incident,
        audience=Audience.INTERNAL,
        kind=Kind.FOLLOW_UP,
        by=manager,
        **complete_follow_up(next_update_at=timezone.now() + timedelta(minutes=30)),
    )
    actions.request_review(draft, reviewer=other_manager, by=manager)
    actions.publish_communication(draft, by=other_manager)
    own = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.FOLLOW_UP, by=manager
    )
    actions.update_communication(own, by=manager, **complete_follow_up())
    actions.publish_communication(own, by=manager)
    time_machine.shift(timedelta(minutes=25))
    assert actions.send_due_reminders() >= 1

    seen = set()
    for entry in incident.timeline.filter(kind=EntryKind.COMMS):
        seen.add(entry.data["text_id"])
        with translation.override("en"):
            assert entry_texts.render(entry) == entry.text
        with translation.override("ko"):
            korean = entry_texts.render(entry)
        assert HANGUL.search(korean), korean
    assert seen == {"comms.drafted", "comms.review_asked", "comms.published", "comms.reminded"}

    published = incident.timeline.filter(data__text_id="comms.published").first()
    assert published.text == (
        "imani published the internal follow-up, reviewed by imani: "
        "Checkout fails for a third of EU tenants since 10:05."
    )
    with translation.override("ko"):
        korean = entry_texts.render(published)
    assert korean.startswith("imani 님이 imani 님의 검토를 거쳐 내부 후속 공지")
    # What people wrote stays as they wrote it.
    assert korean.endswith("Checkout fails for a third of EU tenants since 10:05.")
