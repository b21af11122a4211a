"""The top navigation, assembled from what each app registers in ``AppConfig.ready()``.

Apps own their pages; the base layout only lists what they registered, so adding an
app's pages never means editing the shared template.
"""

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise


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


def navigation(request: HttpRequest) -> dict[str, object]:
    """Context processor: the links the signed-in user may follow, the current one marked."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    match = request.resolver_match
    current = match.view_name if match else ""
    items = []
    for item in sorted(_items.values(), key=lambda item: item.order):
        if item.permission and not user.has_perm(item.permission):
            continue
        active = current == item.url_name or current in item.section
        items.append({"label": item.label, "url": reverse(item.url_name), "active": active})
    return {"nav_items": items}
