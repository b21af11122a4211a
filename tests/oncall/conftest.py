"""On-call fixtures: rosters built through the actions, people with contact methods."""

from datetime import date, time

import pytest

from oncall import actions
from oncall.models import Roster
from tests.factories import UserFactory


@pytest.fixture
def make_roster(db):
    def make(slug="platform-im", *, people=(), team=None, **fields):
        fields.setdefault("start_date", date(2026, 1, 5))
        fields.setdefault("handoff_time", time(9, 0))
        fields.setdefault("time_zone", "Europe/Paris")
        fields.setdefault("shift_unit", "weeks")
        fields.setdefault("shift_length", 1)
        users = [UserFactory(username=name) for name in people]
        return actions.create_roster(
            slug=slug,
            name=slug.replace("-", " ").title(),
            team=team,
            by=users[0] if users else None,
            participants=users,
            **fields,
        )

    return make


@pytest.fixture
def imoc(db):
    return Roster.objects.get(slug="imoc")
