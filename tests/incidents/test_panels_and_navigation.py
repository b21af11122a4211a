"""Other apps plug sections into the incident page and links into the navigation."""

import re
from pathlib import Path

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from config import navigation
from incidents import panels
from tests.factories import make_incident

pytestmark = pytest.mark.django_db

TEST_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture
def probe_panel(settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEST_TEMPLATES]},
        *settings.TEMPLATES[1:],
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


def test_the_top_bar_forms_work_with_the_pages_one_csrf_token(client_for, manager):
    """The bar is rendered apart from the page (Jinja2): its forms carry the page's
    token, one masked token for every form and the htmx header, and they post."""
    client = client_for(manager, enforce_csrf_checks=True)
    body = client.get("/incidents/").content.decode()
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', body))
    tokens |= set(re.findall(r'"X-CSRFToken": "([^"]+)"', body))
    assert len(tokens) == 1
    token = tokens.pop()
    assert '<button type="submit" name="language" value="ko" lang="ko"' in body
    assert ">한국어</button>" in body
    assert ">English</button>" not in body

    switched = client.post(
        "/preferences/language/",
        {"language": "ko", "next": "/incidents/", "csrfmiddlewaretoken": token},
    )
    assert switched.status_code == 302
    korean = client.get("/incidents/").content.decode()
    assert ">English</button>" in korean
    assert "로그아웃" in korean
    assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert client.get("/incidents/").status_code == 302  # signed out


def test_the_top_bar_escapes_the_persons_name(client_for, manager):
    manager.first_name, manager.last_name = "<script>alert(1)</script>", "&"
    manager.save()
    body = client_for(manager).get("/incidents/").content.decode()
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in body
    assert f'title="Signed in as {manager.username}: your preferences"' in body


def test_the_top_bar_shows_the_admin_link_to_staff_only(client_for, manager):
    assert 'href="/admin/"' not in client_for(manager).get("/incidents/").content.decode()
    manager.is_staff = True
    manager.save()
    assert 'href="/admin/"' in client_for(manager).get("/incidents/").content.decode()


def _bar(body):
    return re.search(r'<header class="topnav">.*?</header>', body, re.S).group(0)


def test_the_kept_top_bar_carries_each_requests_token_and_path(client_for, manager):
    """The bar is rendered once per person, links and language: two pages of the same
    person differ in it only by their own token and path, which are escaped."""
    first, second = client_for(manager), client_for(manager)
    one = first.get("/incidents/")
    two = second.get("/incidents/?q=a&b'c&status=open")
    bars = [_bar(response.content.decode()) for response in (one, two)]
    tokens = [
        re.search(r'"X-CSRFToken": "([^"]+)"', r.content.decode()).group(1) for r in (one, two)
    ]
    paths = [escape(response.wsgi_request.get_full_path()) for response in (one, two)]
    assert paths[1] == "/incidents/?q=a&amp;b&#39;c&amp;status=open"
    for bar, token, path in zip(bars, tokens, paths, strict=True):
        assert bar.count(token) == 2
        assert f'name="next" value="{path}"' in bar
        assert "csrf-" not in bar
        assert "next-" not in bar
    assert tokens[1] not in bars[0]
    assert bars[1].replace(tokens[1], tokens[0]).replace(paths[1], paths[0]) == bars[0]


# What a name or a query can hold: PostgreSQL stores no NUL, a form keeps no control
# character.
PRINTABLE = st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    first=st.text(alphabet=PRINTABLE, max_size=12),
    last=st.text(alphabet=PRINTABLE, max_size=12),
    query=st.text(alphabet=PRINTABLE, max_size=12),
)
def test_the_kept_top_bar_shows_the_person_as_they_are_now(manager, first, last, query):
    """Whatever the name and the page's query: the bar names the person as saved last,
    escaped, and its language form returns to the page asked for."""
    manager.first_name, manager.last_name = first, last
    manager.save()
    client = Client()
    client.force_login(manager)
    response = client.get("/incidents/", {"q": query})
    bar = _bar(response.content.decode())
    shown = manager.get_full_name() or manager.username
    assert f">{escape(shown)}</a>" in bar
    assert f'name="next" value="{escape(response.wsgi_request.get_full_path())}"' in bar


def test_two_people_never_share_a_kept_top_bar(client_for, manager, other_manager):
    for person in (manager, other_manager):
        person.first_name, person.last_name = "Alex", "Kim"
        person.save()
    bars = {
        person.username: _bar(client_for(person).get("/incidents/").content.decode())
        for person in (manager, other_manager)
    }
    for username, bar in bars.items():
        assert f'title="Signed in as {username}: your preferences"' in bar
    assert bars[manager.username] != bars[other_manager.username]
