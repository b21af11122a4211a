"""Personal on-call fixtures: a team with a weekly Paris roster of two people."""

from datetime import UTC, date, datetime

import pytest

from tests.factories import ServiceFactory, TeamFactory, UserFactory

# A Monday, 10:00 UTC (11:00 in Paris): pia's week (the rotation starts Mon 5 Jan).
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments", email="payments@example.com")


@pytest.fixture
def service(team):
    return ServiceFactory(slug="checkout", name="Checkout", team=team)


@pytest.fixture
def pia(db):
    return UserFactory(username="pia", first_name="Pia", last_name="Keller")


@pytest.fixture
def raf(db):
    return UserFactory(username="raf", first_name="Rafael", last_name="Ortiz")


@pytest.fixture
def roster(make_roster, team, pia, raf):
    roster = make_roster(
        "payments-im", people=["pia", "raf"], team=team, start_date=date(2026, 1, 5)
    )
    team.members.add(pia, raf)
    return roster
