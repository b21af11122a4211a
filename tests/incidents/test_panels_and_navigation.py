"""Other apps plug sections into the incident page and links into the navigation."""

from pathlib import Path

import pytest

from config import navigation
from incidents import panels
from tests.factories import make_incident

pytestmark = pytest.mark.django_db

TEST_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture
def probe_panel(settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEST_TEMPLATES]}
    ]
    seen = []

    def context(request, incident):
        seen.append(incident.key)
        return {"greeting": f"Probe for {incident.key}"} if incident.severity == 1 else None

    panel = panels.Panel("probe", "tests/probe_panel.html", context, column="side")
    panels.register(panel)
    yield seen
    panels._panels.pop("probe")


def test_a_registered_panel_renders_on_the_incident_page(client_for, manager, probe_panel):
    incident = make_incident(severity=1)

    response = client_for(manager).get(incident.get_absolute_url())

    assert probe_panel == [incident.key]
    assert f"Probe for {incident.key}" in response.content.decode()


def test_a_panel_whose_context_is_none_stays_hidden(client_for, manager, probe_panel):
    incident = make_incident(severity=3)

    response = client_for(manager).get(incident.get_absolute_url())

    assert "Probe for" not in response.content.decode()


def test_navigation_hides_links_the_user_may_not_follow(client_for, support, manager):
    replaced = navigation.register(
        navigation.NavItem(
            "Probe", "incidents:severity_matrix", order=1, permission="auth.add_user"
        )
    )
    assert replaced is not None
    try:
        assert "Probe" not in client_for(support).get("/incidents/").content.decode()
    finally:
        navigation.register(replaced)


def test_the_current_section_is_marked_in_the_navigation(client_for, manager):
    body = client_for(manager).get("/incidents/new/").content.decode()

    assert '<a href="/incidents/new/" class="active" aria-current="page">' in body
