"""The top navigation, assembled from what each app registers in ``AppConfig.ready()``.

Apps own their pages; the base layout only lists what they registered, so adding an
app's pages never means editing the shared template.
"""

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import engines
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import Promise, SimpleLazyObject
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _
from markupsafe import escape

TOPNAV = "includes/topnav.html"


@dataclass(frozen=True)
class NavItem:
    label: str | Promise  # translated when the page renders, in the viewer's language
    url_name: str
    order: int
    # The permission needed to see the link; None shows it to everyone signed in.
    permission: str | None = None
    # Other URL names (namespaced) that light this item up as the current section.
    section: tuple[str, ...] = ()


_items: dict[str, NavItem] = {}


def register(item: NavItem) -> NavItem | None:
    """Add the item, or replace the one with its URL name: that one is returned."""
    previous = _items.get(item.url_name)
    _items[item.url_name] = item
    return previous


@functools.lru_cache(maxsize=256)
def _url(name: str, urlconf: str | None, prefix: str) -> str:
    # A page reverses a dozen fixed names; the URL configuration never changes in a
    # running process (keyed by it and the prefix all the same, as tests swap them).
    return reverse(name, urlconf=urlconf)


def url(name: str) -> str:
    return _url(name, get_urlconf(), get_script_prefix())


# Stands for the key in ``key_url``'s one ``reverse``: keys (``HOT-12``) are letters,
# digits and a dash, which a URL path carries as they are.
_KEY = "~key~"


def key_url(name: str) -> Callable[[str], str]:
    """The URL of page ``name`` for any incident key: one ``reverse`` for a list of
    rows, not one a row."""
    before, after = reverse(name, args=[_KEY]).split(_KEY)
    return lambda key: f"{before}{key}{after}"


def navigation(request: HttpRequest) -> dict[str, object]:
    """Context processor: the links the signed-in user may follow, the current one
    marked, and ``topnav``, the whole bar rendered when the page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "topnav": ""}
    match = request.resolver_match
    current = match.view_name if match else ""
    items = []
    for item in sorted(_items.values(), key=lambda item: item.order):
        if item.permission and not user.has_perm(item.permission):
            continue
        active = current == item.url_name or current in item.section
        items.append({"label": item.label, "url": url(item.url_name), "active": active})
    # One masked token for the page's forms and its htmx header, as Django's own
    # ``csrf_token`` is (each new one costs 32 random draws).
    token = SimpleLazyObject(lambda: get_token(request))
    return {
        "nav_items": items,
        "csrf_token": token,
        "topnav": functools.partial(_topnav, request, user, items, token),
    }


# Stand for the per-request values in a kept top bar (``_topnav``): random, so no name
# or label can hold them.
_TOKEN_MARK = f"csrf-{secrets.token_hex(8)}"
_NEXT_MARK = f"next-{secrets.token_hex(8)}"


def _topnav(request: HttpRequest, user: Any, items: list[dict[str, Any]], token: Any) -> SafeString:
    """The top bar in Jinja2 (``templates/jinja2/includes/topnav.html``): it is on every
    page, and Django's template language took longer over it than over most pages'
    own content. Rendered once per process for each person, set of links and language
    (``_kept_topnav``); the CSRF token and the page's own path, all that differs
    between two of their pages, are filled in per request."""
    html = _kept_topnav(
        engines["jinja2"].get_template(TOPNAV).template,  # type: ignore[attr-defined]  # the Jinja2 backend's
        get_language(),
        get_urlconf(),
        get_script_prefix(),
        user.pk,
        user.get_username(),
        user.get_full_name(),
        user.is_staff,
        tuple((str(item["label"]), item["url"], item["active"]) for item in items),
    )
    return mark_safe(
        html.replace(_TOKEN_MARK, escape(str(token))).replace(
            _NEXT_MARK, escape(request.get_full_path())
        )
    )


@functools.lru_cache(maxsize=256)
def _kept_topnav(
    template: Any,
    current: str,
    _urlconf: str | None,
    _prefix: str,
    _user_pk: int,
    name: str,
    full_name: str,
    is_staff: bool,
    items: tuple[tuple[str, str, bool], ...],
) -> str:
    # The template (a new object when reloaded in development), the language, the URL
    # configuration and the person are the key; the current ones are what renders.
    context = {
        "t": SimpleNamespace(
            main=_("Main"),
            admin=_("Admin"),
            language=_("Language"),
            log_out=_("Log out"),
            signed_in_as=_("Signed in as %(name)s: your preferences") % {"name": name},
        ),
        "items": [{"label": label, "url": link, "active": active} for label, link, active in items],
        "admin_url": url("admin:index") if is_staff else "",
        "home_url": url("incidents:list"),
        "language_url": url("language_switch"),
        "preferences_url": url("preferences"),
        "logout_url": url("logout"),
        "csrf_token": _TOKEN_MARK,
        "next": _NEXT_MARK,
        # Each language named in itself ("English", "한국어"): whoever reads the page
        # may not read the current one.
        "languages": [
            (code, get_language_info(code)["name_local"])
            for code, _name in settings.LANGUAGES
            if code != current
        ],
        "person": full_name or name,
    }
    # Autoescape on: the marks pass through unchanged (letters, digits and a dash).
    return template.render(context)
