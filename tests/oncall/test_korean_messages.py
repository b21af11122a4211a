"""On-call refusals and refused input read in the reader's language; the API keeps its
machine values (field names, states, units) whatever the language."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.models import Preferences
from oncall.models import Roster

KOREAN = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
IMOC_STAYS_KO = "IMOC 로스터는 아무도 응답하지 않을 때 호출되므로 유지됩니다."
IMOC_STAYS_EN = "The IMOC roster is paged when nobody answers; it stays."


@pytest.fixture
def korean_admin(admin_user):
    Preferences.objects.update_or_create(person=admin_user, defaults={"language": "ko"})
    return admin_user


def _api(user, **headers):
    client = Client(**headers)
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_archiving_the_imoc_is_refused_in_the_korean_persons_language(korean_admin, imoc):
    # Their own setting wins over a browser that asks for English.
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(korean_admin)
    page = client.post("/oncall/rosters/imoc/archive/", follow=True).content.decode()
    assert IMOC_STAYS_KO in page
    assert IMOC_STAYS_EN not in page
    assert Roster.objects.get(slug="imoc").archived_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "detail"),
    [(KOREAN, IMOC_STAYS_KO), (ENGLISH, IMOC_STAYS_EN)],
)
def test_the_api_refuses_in_the_readers_language(admin_user, imoc, headers, detail):
    answer = _api(admin_user, **headers).post("/api/oncall/rosters/imoc/archive/")
    assert answer.status_code == 400
    assert answer.json() == {"detail": detail}


@pytest.mark.django_db
def test_a_refused_field_keeps_its_machine_name_in_korean(admin_user, imoc):
    starts = timezone.now() + timedelta(days=1)
    answer = _api(admin_user, **KOREAN).post(
        "/api/oncall/rosters/imoc/overrides/",
        {
            "user": admin_user.username,
            "starts_at": starts.isoformat(),
            "ends_at": (starts - timedelta(hours=1)).isoformat(),
        },
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json() == {"ends_at": ["대체는 시작한 뒤에 끝나야 합니다."]}


@pytest.mark.django_db
def test_the_api_keeps_machine_values_in_korean(korean_admin, imoc):
    client = _api(korean_admin, **KOREAN)
    with time_machine.travel(timezone.now(), tick=False):
        korean = client.get("/api/oncall/rosters/imoc/").json()
        Preferences.objects.filter(person=korean_admin).update(language="en")
        english = client.get("/api/oncall/rosters/imoc/").json()
    assert korean["shift_unit"] == imoc.shift_unit
    assert korean["slug"] == "imoc"
    assert korean == english


def test_a_null_character_is_refused_in_korean_naming_where():
    answer = Client(**KOREAN).get("/oncall/", {"q": "a\x00b"})
    assert answer.status_code == 400
    assert answer.content.decode() == "쿼리 매개변수 “q”에는 널 문자를 쓸 수 없습니다."


def test_the_api_names_the_field_and_says_why_in_korean():
    answer = Client(**KOREAN).post("/api/oncall/teams/", {"name": "a\x00b"})
    assert answer.status_code == 400
    assert answer.json() == {"name": ["널 문자는 허용되지 않습니다."]}


@pytest.mark.django_db
def test_json_too_deep_is_refused_in_korean(admin_user):
    body = "[" * 200 + "]" * 200
    answer = _api(admin_user, **KOREAN).post(
        "/api/oncall/teams/", body, content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.json() == {"detail": "JSON이 너무 깊게 중첩되어 있습니다."}


@pytest.mark.django_db
def test_a_body_that_is_no_json_is_refused_in_korean(admin_user):
    answer = _api(admin_user, **KOREAN).post(
        "/api/oncall/teams/", "{bad", content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("본문이 올바른 JSON이 아닙니다: Expecting property")


# A header name as a client may send it: letters, digits and dashes.
header_names = st.from_regex(r"X-[A-Za-z0-9][A-Za-z0-9-]{0,15}", fullmatch=True)


@settings(max_examples=30, deadline=None)
@given(name=header_names)
def test_any_header_with_a_null_is_refused_in_korean_by_its_name(name):
    meta = "HTTP_" + name.upper().replace("-", "_")
    answer = Client(**KOREAN, **{meta: "a\x00b"}).get("/oncall/")
    assert answer.status_code == 400
    text = answer.content.decode()
    # Named as Django reports the header (its own spelling of the name).
    assert text.lower() == f"헤더 “{name.lower()}”에는 널 문자를 쓸 수 없습니다."
