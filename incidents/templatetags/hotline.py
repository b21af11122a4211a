"""Small presentation helpers shared by every page."""

import functools
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext

from incidents.models import Incident
from incidents.selectors import managing

register = template.Library()


@register.simple_tag
def when(value: datetime | None, *, cached: bool = False) -> SafeString:
    """'12 minutes ago', with the exact time in the viewer's zone on hover.

    static/js/relative-time.js keeps the text current while a page stays open. HTML
    that is cached and reused says the exact time instead (``cached=True``), which
    never goes stale; the script turns it into the relative text. Without JavaScript
    every time stays readable."""
    if value is None:
        return format_html('<span class="muted">{}</span>', gettext("unknown"))
    exact = timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")
    return format_html(
        '<time class="ago" datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        exact,
        exact if cached else naturaltime(value),
    )


@register.simple_tag
def exact(value: datetime | None) -> SafeString:
    """The exact time in the viewer's zone, for records like the timeline."""
    if value is None:
        return format_html('<span class="muted">{}</span>', gettext("unknown"))
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        naturaltime(value),
        local.strftime("%Y-%m-%d %H:%M %Z"),
    )


@register.filter
def duration(value: timedelta | None) -> str:
    """A duration a person reads at a glance; unknown stays unknown, never zero."""
    if value is None:
        return gettext("unknown")
    return _duration(int(value.total_seconds() // 60), get_language())


@functools.lru_cache(maxsize=4096)
def _duration(minutes: int, language: str | None) -> str:
    # A metrics page says some 200 durations, many alike: each said once per language.
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(gettext("%(days)d d") % {"days": days})
    if hours:
        parts.append(gettext("%(hours)d h") % {"hours": hours})
    if minutes or not parts:
        parts.append(gettext("%(minutes)d min") % {"minutes": minutes})
    return " ".join(parts)


@register.simple_tag
def severity_badge(severity: int) -> SafeString:
    return format_html('<span class="badge sev sev-{0}">SEV {0}</span>', severity)


@register.simple_tag
def status_badge(incident: object) -> SafeString:
    status = getattr(incident, "status", "")
    label = getattr(incident, "get_status_display", lambda: status)()
    return format_html('<span class="badge status status-{}">{}</span>', status, label)


@register.simple_tag(takes_context=True)
def person(context: template.Context, user: Any, hide: Incident | None = None) -> SafeString:
    """A person's name with the key of each open incident they manage beside it, so
    colleagues see at once who is busy with what (HANDBOOK §3's chat status). ``hide``
    leaves out the incident the page is already about.

    The look-up runs once per request, whatever the number of names on the page.
    """
    if user is None:
        return format_html('<span class="muted">{}</span>', gettext("nobody"))
    name = user.get_full_name() or user.get_username()
    busy = [
        incident
        for incident in _managing(context).get(user.pk, [])
        if hide is None or incident.pk != hide.pk
    ]
    keys = format_html_join(
        "",
        ' <a class="key busy" href="{}" title="{}">{}</a>',
        (
            (
                incident.get_absolute_url(),
                gettext("Managing %(key)s") % {"key": incident.key},
                incident.key,
            )
            for incident in busy
        ),
    )
    return format_html(
        '<span class="person" title="{}">{}{}</span>', user.get_username(), name, keys
    )


def _managing(context: template.Context) -> dict[int, list[Incident]]:
    # Kept on the request (or, without one, on this render) so it is looked up once.
    request = context.get("request")
    holder: Any = request if request is not None else context.render_context
    cached = getattr(holder, "hotline_managing", None)
    if cached is None:
        viewer = getattr(request, "user", None) or context.get("user")
        cached = managing(viewer) if viewer is not None else {}
        holder.hotline_managing = cached
    return cached


@register.filter
def negate(value: timedelta) -> timedelta:
    return -value
