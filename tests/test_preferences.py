"""Language and time zone: the browser's by default, a person's own choice over it, and
the switch in the navigation."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.models import Preferences

pytestmark = pytest.mark.django_db


def _lang(response) -> str:
    found = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert found, "no <html lang>"
    return found.group(1)


def test_the_browsers_language_is_spoken_without_a_choice(client_for, manager):
    page = client_for(manager, HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.5").get("/preferences/")
    assert page.status_code == 200
    assert page["Content-Language"] == "ko"
    assert _lang(page) == "ko"
    assert "로그아웃" in page.content.decode()
    assert "Log out" not in page.content.decode()


def test_english_is_the_default(client_for, manager):
    page = client_for(manager).get("/preferences/")
    assert _lang(page) == "en"
    assert "Log out" in page.content.decode()


def test_a_persons_choice_wins_over_the_browser(client_for, manager):
    Preferences.objects.create(person=manager, language="en")
    page = client_for(manager, HTTP_ACCEPT_LANGUAGE="ko").get("/preferences/")
    assert _lang(page) == "en"
    assert page["Content-Language"] == "en"


def test_preferences_come_with_the_user_in_one_query(
    client_for, manager, django_assert_max_num_queries
):
    Preferences.objects.create(person=manager, language="ko", time_zone="Asia/Seoul")
    client = client_for(manager)
    client.get("/preferences/")
    # session, user with preferences, permissions: the preferences add no query.
    with django_assert_max_num_queries(3):
        page = client.get("/preferences/")
    assert _lang(page) == "ko"


def test_the_switch_saves_the_language_and_goes_back(client_for, manager):
    client = client_for(manager)
    answer = client.post(
        "/preferences/language/", {"language": "ko", "next": "/incidents/?status=open"}
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/incidents/?status=open"
    assert Preferences.objects.get(person=manager).language == "ko"
    assert _lang(client.get("/preferences/")) == "ko"


def test_the_switch_never_redirects_off_site(client_for, manager):
    answer = client_for(manager).post(
        "/preferences/language/", {"language": "ko", "next": "https://evil.example/"}
    )
    assert answer["Location"] == "/"


@given(language=st.text(max_size=12).filter(lambda text: text not in {"en", "ko"}))
@settings(max_examples=25, deadline=None)
def test_an_unknown_language_is_refused_and_nothing_saved(language):
    from tests.factories import UserFactory

    person = UserFactory()
    client = Client()
    client.force_login(person)
    answer = client.post("/preferences/language/", {"language": language})
    assert answer.status_code == 400
    assert not Preferences.objects.filter(person=person).exists()


def test_the_switch_needs_a_csrf_token(manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    assert client.post("/preferences/language/", {"language": "ko"}).status_code == 403


def test_saving_language_and_time_zone(client_for, manager):
    client = client_for(manager)
    answer = client.post("/preferences/", {"language": "ko", "time_zone": "Asia/Seoul"})
    assert answer.status_code == 302
    saved = Preferences.objects.get(person=manager)
    assert (saved.language, saved.time_zone) == ("ko", "Asia/Seoul")
    with time_machine.travel(datetime(2026, 12, 3, 15, 0, tzinfo=UTC), tick=False):
        page = client.get("/preferences/").content.decode()
    assert "Asia/Seoul" in page
    assert "2026년 12월 4일" in page  # midnight in Seoul, in Korean


def test_a_bad_time_zone_is_refused_naming_the_field(client_for, manager):
    answer = client_for(manager).post("/preferences/", {"language": "", "time_zone": "Mars/Base"})
    assert answer.status_code == 400
    assert "Mars/Base" in answer.content.decode()
    assert "has-error" in answer.content.decode()
    assert not Preferences.objects.filter(person=manager).exists()


def test_the_persons_zone_wins_over_the_browsers(client_for, manager):
    Preferences.objects.create(person=manager, time_zone="Asia/Seoul")
    client = client_for(manager)
    client.cookies["tz"] = "Europe/Paris"
    assert "Asia/Seoul" in client.get("/preferences/").content.decode()


def test_without_a_choice_the_browsers_zone_is_used(client_for, manager):
    client = client_for(manager)
    client.cookies["tz"] = "Europe/Paris"
    assert "Europe/Paris" in client.get("/preferences/").content.decode()


def test_preferences_need_login():
    answer = Client().get("/preferences/")
    assert answer.status_code == 302
    assert "/accounts/login/" in answer["Location"]
