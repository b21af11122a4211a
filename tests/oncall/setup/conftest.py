"""A team with its admin, three people and a service: what the set-up tests start from."""

from datetime import UTC, date, datetime

import pytest

from oncall.models import TeamAdmin
from tests.factories import ServiceFactory, TeamFactory, UserFactory

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments", email="payments@example.com")


@pytest.fixture
def service(team):
    return ServiceFactory(slug="checkout", name="Checkout", team=team)


@pytest.fixture
def team_admin(team):
    user = UserFactory(username="tia", group="responder")
    TeamAdmin.objects.create(team=team, user=user)
    return user


@pytest.fixture
def people(db):
    return [UserFactory(username=name) for name in ("pia", "bea", "lea")]


@pytest.fixture
def staffed_imoc(imoc):
    from oncall import actions

    actions.change_rotation(imoc, by=None, participants=[UserFactory(username="ivo")])
    imoc.start_date = date(2026, 1, 5)
    imoc.save()
    return imoc
