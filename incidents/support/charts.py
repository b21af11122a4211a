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

from django.utils.html import escape
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
        label = escape(gettext(key))
        height = (base - TOP) * count / top
        centre = _x(index, len(bins))
        odd = " odd" if index % 2 else ""
        bars.append(
            f'<g><title>{label}: {count}</title><rect class="bar" x="{_pc(centre - step * 0.42)}"'
            f' y="{_px(base - height)}" width="{_pc(step * 0.84)}" height="{_px(height)}"/>'
            f'<text x="{_pc(centre)}" y="{_px(base - height - 5)}" class="count">{count}</text>'
            f'<text x="{_pc(centre)}" y="{base + 14}" class="label{odd}">{label}</text></g>'
        )
    return _svg(title, "".join(bars))


def _svg(title: str, drawn: str) -> SafeString:
    # Numbers are written as they are; every text is escaped where it is put in.
    return mark_safe(
        f'<svg class="chart" width="100%" height="{HEIGHT}" role="img"'
        f' aria-label="{escape(title)}"><line class="axis" x1="0" x2="100%"'
        f' y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}"/>{drawn}</svg>'
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

    def line(css: str) -> str:
        points = [
            point(position, value)
            for position, value in enumerate(series[css])
            if value is not None
        ]
        segments = "".join(
            f'<line class="{css}" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"/>'
            for (x1, y1), (x2, y2) in pairwise(points)
        )
        dots = "".join(f'<circle class="{css}" cx="{x}" cy="{y}" r="3.5"/>' for x, y in points)
        return segments + dots

    every = math.ceil(len(months) / MOST_LABELS) or 1
    labels = "".join(
        f'<text x="{_pc(_x(position, count))}" y="{base + 14}" class="label">{escape(name)}</text>'
        for position, (name, *_) in enumerate(months)
        if (len(months) - 1 - position) % every == 0  # the latest month always named
    )
    scale = escape(gettext("max %(minutes)s min") % {"minutes": f"{top:.0f}"})
    return _svg(
        title, f'<text x="0" y="12" class="scale">{scale}</text>{line("ttd")}{line("ttr")}{labels}'
    )
