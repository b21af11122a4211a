"""Small presentation helpers shared by every page."""

from datetime import datetime, timedelta

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def when(value: datetime | None) -> SafeString:
    """'12 minutes ago', with the exact time in the viewer's zone on hover."""
    if value is None:
        return mark_safe('<span class="muted">unknown</span>')
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        naturaltime(value),
    )


@register.simple_tag
def exact(value: datetime | None) -> SafeString:
    """The exact time in the viewer's zone, for records like the timeline."""
    if value is None:
        return mark_safe('<span class="muted">unknown</span>')
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
        return "unknown"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    if days or hours:
        parts[-1] = f"{minutes} min" if minutes else ""
    return " ".join(part for part in parts if part) or "0 min"


@register.simple_tag
def severity_badge(severity: int) -> SafeString:
    return format_html('<span class="badge sev sev-{0}">SEV {0}</span>', severity)


@register.simple_tag
def status_badge(incident: object) -> SafeString:
    status = getattr(incident, "status", "")
    label = getattr(incident, "get_status_display", lambda: status)()
    return format_html('<span class="badge status status-{}">{}</span>', status, label)
