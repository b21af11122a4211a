"""The portal in Korean: a crawl of the pages as demo people finds no English sentence
left from the templates (user data aside).

The crawl covers the parts translated so far (``TRANSLATED``); each part joins it when
its strings are in the catalogue, so a page that slips back to English fails here.
"""

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.test import Client

from incidents.models import Preferences
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TRANSLATED = ("/incidents/", "/support/", "/preferences/", "/oncall/", "/comms/")
SKIPPED = (".csv", ".atom", ".ics", "/export", "/feed", "/logout")
# Names that stay as they are in Korean text: the product, abbreviations, formats.
KEPT = {
    "Hotline",
    "TTD",
    "TTR",
    "SEV",
    "IM",
    "IMOC",
    "CSV",
    "Markdown",
    "IANA",
    "API",
    "p90",
    "URL",
    "CI",
    "CD",
    "HOT",
    "POST",
    "api",
    "cases",
    "changes",
    "git",
    "push",
    "Unknown",
    "UTF-8",
    "English",
    "reference",
    "MB",
    # Products and formats named as their makers spell them.
    "PagerDuty",
    "Prometheus",
    "Alertmanager",
    "Slack",
    "Microsoft",
    "Teams",
    "Block",
    "Kit",
    "Adaptive",
    "Card",
    "MessageCard",
    "JSON",
    "HMAC-SHA256",
    "GET",
    "v2",
    "crontab",
    "ID",
    "HTML",
    "Django",
}
# Time zone names (Europe/Paris) are written as the IANA database spells them.
ZONE = re.compile(r"\b[A-Z][a-z]+/[A-Za-z_]+(?![A-Za-z_])")
# Documents of the repository (docs/webhooks.md) are named as their files are.
DOCUMENT = re.compile(r"\b[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*\.md(?![A-Za-z0-9])")
URL = re.compile(r"https?://\S+")
# Latin words in a row: a sentence or a label left in English.
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z0-9'\u2019-]+(?:[ ,:;]+[A-Za-z][A-Za-z0-9'\u2019-]*)*")


class _Text(HTMLParser):
    """The words a person reads: text outside scripts and styles, and the attributes
    shown on hover, to screen readers and in empty inputs. What a page marks
    ``translate="no"`` (raw payloads, commands, names' initials: HTML's own mark for
    text that is no prose of the page) is left out, its links kept."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self.links: list[str] = []
        self._hidden = 0
        # The open element marked translate="no" and how deep its name nests in itself.
        self._kept: tuple[str, int] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in {"script", "style", "template"}:
            self._hidden += 1
        if self._kept is not None and tag == self._kept[0]:
            self._kept = (tag, self._kept[1] + 1)
        elif self._kept is None and attributes.get("translate") == "no":
            self._kept = (tag, 1)
        if self._kept is None:
            for name in ("title", "aria-label", "placeholder", "alt"):
                if attributes.get(name):
                    self.chunks.append(attributes[name])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])

    def handle_endtag(self, tag):
        if tag in {"script", "style", "template"} and self._hidden:
            self._hidden -= 1
        if self._kept is not None and tag == self._kept[0]:
            self._kept = (tag, self._kept[1] - 1) if self._kept[1] > 1 else None

    def handle_data(self, data):
        if not self._hidden and self._kept is None and data.strip():
            self.chunks.append(data)


def _user_data() -> list[str]:
    """Every text people or the demo put in the database, longest first."""
    values: set[str] = set()
    for model in apps.get_models():
        fields = [
            field.name
            for field in model._meta.get_fields()
            if isinstance(field, models.CharField | models.TextField) and not field.choices
        ]
        if not fields or model._meta.app_label not in {"incidents", "oncall", "comms", "auth"}:
            continue
        for row in model._default_manager.values_list(*fields):
            for value in row:
                for line in str(value or "").splitlines():
                    # Spaced as the page's text is read (``_english_left``).
                    if len(line.strip()) > 1:
                        values.add(" ".join(line.split()))
    for user in apps.get_model("auth", "User")._default_manager.all():
        values.add(user.get_full_name())
    return sorted(values, key=len, reverse=True)


def _plain(text: str) -> str:
    """Text without zones, URLs and documents' names, spaced as it is read."""
    return " ".join(DOCUMENT.sub(" ", URL.sub(" ", ZONE.sub(" ", text))).split())


def _english_left(chunks: list[str], user_data: list[str]) -> list[str]:
    # User data as the page's text is compared: a line of it may hold a URL or a zone.
    plain_data = [value for value in map(_plain, user_data) if len(value) > 1]
    left = []
    for chunk in chunks:
        text = _plain(chunk)
        # User text cut short to fit (a choice label) is still user text.
        if len(text) >= 20 and any(value.startswith(text) for value in plain_data):
            continue
        for value in plain_data:
            if value in text:
                # Whole words only: the user "manager" leaves "Alertmanager" to be read.
                text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", " ", text)
        for run in ENGLISH_RUN.findall(text):
            if any(word not in KEPT for word in re.findall(r"[A-Za-z][A-Za-z0-9-]*", run)):
                left.append(run)
    return left


# Enough for every page the demo links to in the translated parts (about 130 as admin).
def _crawl(client: Client, user_data: list[str], limit: int = 200) -> dict[str, list[str]]:
    seen = {"/"}
    queue = deque(["/incidents/", "/support/", "/support/cases/", "/preferences/"])
    found: dict[str, list[str]] = {}
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path, follow=True)
        if response.status_code != 200 or "text/html" not in response["Content-Type"]:
            continue
        parser = _Text()
        parser.feed(response.content.decode())
        english = _english_left(parser.chunks, user_data)
        if english:
            found[path] = english
        for href in parser.links:
            target = urlsplit(urljoin(path, href))
            if target.netloc or not target.path.startswith(TRANSLATED):
                continue
            if any(part in target.path for part in SKIPPED):
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            if link not in seen:
                queue.append(link)
    return found


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)
    # The on-call pages need the demo rosters and an integration to show their parts.
    for loader in ("load_demo_oncall", "load_demo_integrations"):
        call_command(loader, verbosity=0)
    return _user_data()


@pytest.mark.parametrize("username", ["manager", "support", "responder", "admin"])
def test_every_page_reads_in_korean(demo, username):
    from django.contrib.auth import get_user_model

    person = get_user_model()._default_manager.get(username=username)
    client = Client(HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9")
    client.force_login(person)
    found = _crawl(client, demo)
    left = sorted({run for runs in found.values() for run in runs})
    assert not left, "English left on " + ", ".join(sorted(found)) + ":\n" + "\n".join(left)


def test_the_korean_demo_user_reads_korean_whatever_the_browser_says(demo):
    from django.contrib.auth import get_user_model

    jiwoo = get_user_model()._default_manager.get(username="jiwoo")
    assert Preferences.objects.get(person=jiwoo).language == "ko"
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(jiwoo)
    page = client.get("/incidents/")
    assert '<html lang="ko">' in page.content.decode()
    assert "인시던트" in page.content.decode()


def test_the_api_docs_page_reads_in_korean_around_swagger(demo):
    # Swagger UI draws the rest in the browser from the OpenAPI document, which keeps
    # the API's machine names; the page the portal writes around it is translated.
    from django.contrib.auth import get_user_model

    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    client.force_login(get_user_model()._default_manager.get(username="support"))
    parser = _Text()
    parser.feed(client.get("/api/docs/").content.decode())
    assert _english_left(parser.chunks, demo) == []


def _admin_pages() -> list[str]:
    """The admin's index, each app's index, and for each registered model its list, its
    add form and the change form of its first row (as the admin shows what it may)."""
    from django.contrib import admin
    from django.urls import reverse

    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        pages.append(reverse("admin:app_list", args=[meta.app_label]))
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(
                reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            )
    return list(dict.fromkeys(pages))


# Django's own Korean keeps these names as they are (keys, and single sign-on backends).
ADMIN_KEPT = {"Control", "Command", "Mac", "Single", "Sign-On", "LDAP", "Standard", "Webhooks"}
# Django's admin writes these in English whatever the language, outside any catalogue:
# the alt text of its yes/no icons (admin_list._boolean_icon) and of the search bar's
# magnifier (admin/search_form.html).
DJANGO_UNTRANSLATED = {"True", "False", "Search"}


def test_the_admin_reads_in_korean(demo):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import identify_hasher

    people = get_user_model()._default_manager.all()
    # The password's summary (algorithm, masked salt and hash) is user data too.
    summaries = [
        str(value)
        for person in people
        if person.password and person.has_usable_password()
        for value in identify_hasher(person.password).safe_summary(person.password).values()
    ]
    client = Client(HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9")
    client.force_login(people.get(username="admin"))
    found = {}
    pages = _admin_pages()
    for path in pages:
        response = client.get(path)
        # A model the admin offers no add form for answers 403; every other page is read.
        if response.status_code == 403 and path.endswith("/add/"):
            continue
        assert response.status_code == 200, path
        parser = _Text()
        parser.feed(response.content.decode())
        english = [
            run
            for run in _english_left(parser.chunks, demo + summaries)
            if run not in DJANGO_UNTRANSLATED
            and any(word not in ADMIN_KEPT for word in run.split())
        ]
        if english:
            found[path] = english
    assert len(pages) > 40
    assert not found, "English left:\n" + "\n".join(
        f"{path}: {sorted(set(runs))}" for path, runs in sorted(found.items())
    )


def test_the_crawl_finds_english_left_behind(db):
    # The check itself: an English sentence that is no user data is reported.
    person = UserFactory(first_name="Dana")
    assert _english_left(["Nobody holds a role yet."], [person.get_full_name()]) == [
        "Nobody holds a role yet"
    ]
    assert _english_left(["담당: Dana Smith"], ["Dana Smith"]) == []


def test_the_crawl_reads_whole_words_and_skips_what_is_marked_untranslated():
    # User data hides whole words only: a user "man" does not hide "many".
    assert _english_left(["many words"], ["man"]) == ["many words"]
    # A zone or a URL inside a line of user data still matches that line.
    assert _english_left(
        ["Source: https://example.com Paris"], ["Source: https://example.com"]
    ) == ["Paris"]
    parser = _Text()
    parser.feed(
        '<p title="Hi">안녕 <pre translate="no">curl <b>-fsS</b> <a href="/x">x</a></pre>끝</p>'
    )
    assert parser.chunks == ["Hi", "안녕 ", "끝"]
    assert parser.links == ["/x"]
