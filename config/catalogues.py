"""Compile the translation catalogues (``locale/*/LC_MESSAGES/*.po`` → ``.mo``) with
Babel, so neither a fresh machine nor CI needs GNU gettext to run the portal in Korean.

``python -m config.catalogues`` compiles what is missing or older than its ``.po``;
``make run``, ``make test`` and the test session call it. Fuzzy entries stay out, as with
``msgfmt``: a guess is not shown to people.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compile_catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    compiled = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        # Written beside, then moved: a test session or server reading it never sees half.
        partial = mo_path.with_suffix(".mo.partial")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        partial.replace(mo_path)
        compiled.append(mo_path)
    return compiled


if __name__ == "__main__":
    for path in compile_catalogues():
        print(f"compiled {path.relative_to(LOCALE_DIR.parent)}")
