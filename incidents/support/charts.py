"""The metrics page's charts, drawn here as SVG (no script, no library).

Horizontal positions are percentages of the chart's width and vertical ones pixels, so a
chart fills its column at any width while its text keeps the page's size: no viewBox
scaling that shrinks the labels to nothing in a narrow column or on a phone. Colours come
from the CSS (``svg.chart`` in app.css).
"""

from __future__ import annotations

import math
from datetime import timedelta
from itertools import pairwise

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from incidents.support.metrics import Group

HEIGHT = 200
TOP = 20  # room for the counts above the bars
BOTTOM = 36  # room for the labels under them (two rows on a phone: app.css)
LEFT = 1.0  # percent kept free each side, so the outer labels stay inside
MOST_LABELS = 8  # more months than this: label every other (or third...) one


def _pc(value: float) -> str:
    return f"{value:.2f}%"


def _px(value: float) -> str:
    return f"{value:.1f}"


def _x(position: int, count: int) -> float:
    """The centre of slot ``position`` of ``count``, in percent."""
    step = (100 - 2 * LEFT) / count
    return LEFT + step * (position + 0.5)


def histogram_svg(bins: list[tuple[str, int]], title: str) -> SafeString:
    """Bars with their counts above and their labels under them."""
    top = max((count for _, count in bins), default=0) or 1
    step = (100 - 2 * LEFT) / len(bins)
    base = HEIGHT - BOTTOM
    bars = []
    for index, (key, count) in enumerate(bins):
        label = gettext(key)
        height = (base - TOP) * count / top
        centre = _x(index, len(bins))
        bars.append(
            format_html(
                '<g><title>{}: {}</title><rect class="bar" x="{}" y="{}" width="{}" '
                'height="{}"/><text x="{}" y="{}" class="count">{}</text>'
                '<text x="{}" y="{}" class="label{}">{}</text></g>',
                label,
                count,
                _pc(centre - step * 0.42),
                _px(base - height),
                _pc(step * 0.84),
                _px(height),
                _pc(centre),
                _px(base - height - 5),
                count,
                _pc(centre),
                base + 14,
                " odd" if index % 2 else "",
                label,
            )
        )
    return format_html(
        '<svg class="chart" width="100%" height="{}" role="img" aria-label="{}">'
        '<line class="axis" x1="0" x2="100%" y1="{}" y2="{}"/>{}</svg>',
        HEIGHT,
        title,
        base,
        base,
        mark_safe("".join(bars)),  # each part built with format_html
    )


def trend_svg(months: list[Group], title: str) -> SafeString:
    """Monthly medians of TTD and TTR as two lines, in minutes, on one scale."""
    series = {
        "ttd": [ttd.median for _, ttd, _ in months],
        "ttr": [ttr.median for _, _, ttr in months],
    }
    top = max(
        (value.total_seconds() / 60 for values in series.values() for value in values if value),
        default=0,
    )
    top = top or 1
    base = HEIGHT - BOTTOM
    count = max(len(months), 1)

    def point(position: int, value: timedelta) -> tuple[str, str]:
        y = base - (base - TOP) * value.total_seconds() / 60 / top
        return _pc(_x(position, count)), _px(y)

    def line(css: str) -> SafeString:
        points = [
            point(position, value)
            for position, value in enumerate(series[css])
            if value is not None
        ]
        segments = format_html_join(
            "",
            '<line class="{}" x1="{}" y1="{}" x2="{}" y2="{}"/>',
            ((css, *start, *end) for start, end in pairwise(points)),
        )
        dots = format_html_join(
            "", '<circle class="{}" cx="{}" cy="{}" r="3.5"/>', ((css, *xy) for xy in points)
        )
        return format_html("{}{}", segments, dots)

    every = math.ceil(len(months) / MOST_LABELS) or 1
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" class="label">{}</text>',
        (
            (_pc(_x(position, count)), base + 14, name)
            for position, (name, *_) in enumerate(months)
            if (len(months) - 1 - position) % every == 0  # the latest month always named
        ),
    )
    return format_html(
        '<svg class="chart" width="100%" height="{}" role="img" aria-label="{}">'
        '<line class="axis" x1="0" x2="100%" y1="{}" y2="{}"/>'
        '<text x="0" y="12" class="scale">{}</text>{}{}{}</svg>',
        HEIGHT,
        title,
        base,
        base,
        gettext("max %(minutes)s min") % {"minutes": f"{top:.0f}"},
        line("ttd"),
        line("ttr"),
        labels,
    )
