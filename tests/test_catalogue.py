"""The Korean catalogue is complete: every string the code marks for translation has a
Korean translation, none is a fuzzy guess, and the placeholders match."""

import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.core.management import call_command

from config.catalogues import LOCALE_DIR

KO = LOCALE_DIR / "ko" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|\{\w*\}")


def _catalog(path: Path):
    with path.open("rb") as po_file:
        return read_po(po_file, locale="ko")


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def test_every_entry_is_translated_and_none_is_fuzzy():
    untranslated = [
        message.id for message in _catalog(KO) if message.id and not _translated(message)
    ]
    fuzzy = [message.id for message in _catalog(KO) if message.id and message.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_placeholders_survive_translation():
    wrong = []
    for message in _catalog(KO):
        if not message.id:
            continue
        # Korean has one form, written for any number: it answers to the plural.
        source = message.id if isinstance(message.id, str) else message.id[1]
        target = message.string if isinstance(message.string, str) else message.string[0]
        if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(target)):
            wrong.append((source, target))
    assert wrong == []


@pytest.mark.skipif(not shutil.which("xgettext"), reason="GNU gettext extracts the strings")
def test_the_catalogue_holds_every_string_the_code_marks(tmp_path, settings, monkeypatch):
    # Extracted from a copy of the code: makemessages writes into the locale folder it
    # finds beside the code, and the committed catalogue must stay as it is.
    root = LOCALE_DIR.parent
    for folder in ("config", "incidents", "oncall", "comms", "templates"):
        shutil.copytree(
            root / folder,
            tmp_path / folder,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "migrations"),
        )
    (tmp_path / "locale").mkdir()
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["ko"], no_location=True, verbosity=0)
    marked = {message.id for message in _catalog(tmp_path / "locale/ko/LC_MESSAGES/django.po")}
    committed = {message.id for message in _catalog(KO) if _translated(message)}
    assert sorted(str(msgid) for msgid in marked - committed if msgid) == []
