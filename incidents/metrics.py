"""TTD and TTR (HANDBOOK §10): their distributions by severity, service and month, the
incidents missing the times, and the charts, drawn here as SVG (no script, no library).

TTD is impact start → detection, TTR impact start → impact end. Medians are the usual
middle value; p90 is the nearest-rank 90th percentile (a real incident's figure).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .models import IncidentQuerySet, Severity, Status

# Histogram bins, upper bounds; the last bin holds everything longer.
BINS = [
    (timedelta(minutes=5), "<5m"),
    (timedelta(minutes=15), "5-15m"),
    (timedelta(minutes=30), "15-30m"),
    (timedelta(hours=1), "30m-1h"),
    (timedelta(hours=2), "1-2h"),
    (timedelta(hours=4), "2-4h"),
    (timedelta(hours=8), "4-8h"),
    (timedelta(days=1), "8h-1d"),
]
OVER = "over 1d"
MISSING_SHOWN = 100
COLUMNS = (
    "pk",
    "key",
    "summary",
    "severity",
    "status",
    "faulty_service__name",
    "faulty_service__team__name",
    "impact_started_at",
    "detected_at",
    "impact_ended_at",
    "created_at",
)


@dataclass(frozen=True)
class Row:
    key: str
    summary: str
    severity: int
    status: str
    service: str
    team: str
    impact_started_at: datetime | None
    detected_at: datetime | None
    impact_ended_at: datetime | None
    created_at: datetime

    @property
    def ttd(self) -> timedelta | None:
        if self.impact_started_at is None or self.detected_at is None:
            return None
        return self.detected_at - self.impact_started_at

    @property
    def ttr(self) -> timedelta | None:
        if self.impact_started_at is None or self.impact_ended_at is None:
            return None
        return self.impact_ended_at - self.impact_started_at

    @property
    def missing(self) -> list[str]:
        """The times a fixer should fill in: start always, end once resolved."""
        gaps = []
        if self.impact_started_at is None:
            gaps.append("impact started")
        if self.detected_at is None:
            gaps.append("detected")
        if self.status in (Status.RESOLVED, Status.REVIEWED) and self.impact_ended_at is None:
            gaps.append("impact ended")
        return gaps


@dataclass(frozen=True)
class Summary:
    count: int
    median: timedelta | None
    p90: timedelta | None


def summarize(values: list[timedelta]) -> Summary:
    if not values:
        return Summary(count=0, median=None, p90=None)
    ordered = sorted(values)
    seconds = statistics.median(value.total_seconds() for value in ordered)
    rank = max(1, math.ceil(0.9 * len(ordered)))
    return Summary(count=len(ordered), median=timedelta(seconds=seconds), p90=ordered[rank - 1])


def histogram(values: Iterable[timedelta]) -> list[tuple[str, int]]:
    counts = dict.fromkeys([label for _, label in BINS] + [OVER], 0)
    for value in values:
        for bound, label in BINS:
            if value < bound:
                counts[label] += 1
                break
        else:
            counts[OVER] += 1
    return list(counts.items())


@dataclass
class Metrics:
    rows: list[Row]
    ttd: Summary
    ttr: Summary
    ttd_histogram: list[tuple[str, int]]
    ttr_histogram: list[tuple[str, int]]
    by_severity: list[tuple[str, Summary, Summary]]
    by_service: list[tuple[str, Summary, Summary]]
    by_month: list[tuple[str, Summary, Summary]]
    missing: list[Row] = field(default_factory=list)
    missing_count: int = 0


def filtered(
    incidents: IncidentQuerySet,
    *,
    since: date | None = None,
    until: date | None = None,
    team: str = "",
    service: str = "",
    severity: int | None = None,
) -> IncidentQuerySet:
    """The period is the impact start (else the logging time), both dates included."""
    if since is not None:
        incidents = incidents.filter(
            Q(impact_started_at__date__gte=since)
            | Q(impact_started_at__isnull=True, created_at__date__gte=since)
        )
    if until is not None:
        incidents = incidents.filter(
            Q(impact_started_at__date__lte=until)
            | Q(impact_started_at__isnull=True, created_at__date__lte=until)
        )
    if team:
        incidents = incidents.filter(faulty_service__team__slug=team)
    if service:
        incidents = incidents.filter(faulty_service__slug=service)
    if severity is not None:
        incidents = incidents.filter(severity=severity)
    return incidents


def rows(incidents: IncidentQuerySet) -> Iterator[Row]:
    """One query, streamed: plain tuples, no model instances."""
    values = incidents.order_by("number").values_list(*COLUMNS)
    for values_row in values.iterator(chunk_size=5000):
        _, key, summary, severity, status, service, team, started, detected, ended, created = (
            values_row
        )
        yield Row(
            key=key,
            summary=summary,
            severity=severity,
            status=status,
            service=service,
            team=team or "",
            impact_started_at=started,
            detected_at=detected,
            impact_ended_at=ended,
            created_at=created,
        )


def compute(incidents: IncidentQuerySet) -> Metrics:
    all_rows = list(rows(incidents))
    ttds = [row.ttd for row in all_rows if row.ttd is not None]
    ttrs = [row.ttr for row in all_rows if row.ttr is not None]

    def grouped(key_of: object) -> list[tuple[str, Summary, Summary]]:
        groups: dict[str, tuple[list[timedelta], list[timedelta]]] = defaultdict(lambda: ([], []))
        for row in all_rows:
            name = key_of(row)  # type: ignore[operator]
            if name is None:
                continue
            ttd, ttr = groups[name]
            if row.ttd is not None:
                ttd.append(row.ttd)
            if row.ttr is not None:
                ttr.append(row.ttr)
        return [
            (name, summarize(ttd), summarize(ttr)) for name, (ttd, ttr) in sorted(groups.items())
        ]

    missing = [row for row in all_rows if row.missing]
    return Metrics(
        rows=all_rows,
        ttd=summarize(ttds),
        ttr=summarize(ttrs),
        ttd_histogram=histogram(ttds),
        ttr_histogram=histogram(ttrs),
        by_severity=grouped(lambda row: Severity(row.severity).label),
        by_service=grouped(lambda row: row.service),
        by_month=grouped(
            lambda row: row.impact_started_at.strftime("%Y-%m") if row.impact_started_at else None
        ),
        missing=missing[:MISSING_SHOWN],
        missing_count=len(missing),
    )


# Charts ---------------------------------------------------------------------------------

WIDTH = 480
HEIGHT = 160
PAD = 24


def _n(value: float) -> str:
    return f"{value:.1f}"


def histogram_svg(bins: list[tuple[str, int]], title: str) -> SafeString:
    """Bars with their counts; the labels under them. Colours come from the CSS."""
    top = max((count for _, count in bins), default=0) or 1
    step = (WIDTH - 2 * PAD) / len(bins)
    bars = []
    for index, (label, count) in enumerate(bins):
        height = (HEIGHT - 2 * PAD) * count / top
        x = PAD + index * step
        y = HEIGHT - PAD - height
        bars.append(
            format_html(
                '<g><title>{}: {}</title><rect class="bar" x="{}" y="{}" width="{}" '
                'height="{}"/><text x="{}" y="{}" class="count">{}</text>'
                '<text x="{}" y="{}" class="label">{}</text></g>',
                label,
                count,
                _n(x + 2),
                _n(y),
                _n(step - 4),
                _n(height),
                _n(x + step / 2),
                _n(y - 3),
                count,
                _n(x + step / 2),
                HEIGHT - 8,
                label,
            )
        )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        mark_safe("".join(bars)),  # each part built with format_html
    )


def trend_svg(months: list[tuple[str, Summary, Summary]], title: str) -> SafeString:
    """Monthly medians of TTD and TTR as two lines, in minutes."""
    points = [(name, ttd.median, ttr.median) for name, ttd, ttr in months]
    series: dict[int, list[timedelta | None]] = {
        1: [ttd for _, ttd, _ in points],
        2: [ttr for _, _, ttr in points],
    }
    top = max(
        (value.total_seconds() / 60 for values in series.values() for value in values if value),
        default=0,
    )
    top = top or 1
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)

    def line(index: int, css: str) -> SafeString:
        coords = [
            (
                PAD + position * step,
                HEIGHT - PAD - (HEIGHT - 2 * PAD) * value.total_seconds() / 60 / top,
            )
            for position, value in enumerate(series[index])
            if value is not None
        ]
        if not coords:
            return SafeString("")
        return format_html(
            '<polyline class="{}" points="{}"/>{}',
            css,
            " ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
            format_html_join(
                "",
                '<circle class="{}" cx="{}" cy="{}" r="3"/>',
                ((css, _n(x), _n(y)) for x, y in coords),
            ),
        )

    labels = format_html_join(
        "",
        '<text x="{}" y="{}" class="label">{}</text>',
        (
            (_n(PAD + position * step), HEIGHT - 8, name)
            for position, (name, *_) in enumerate(points)
        ),
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<text x="{}" y="12" class="label">max {} min</text>{}{}{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        PAD,
        f"{top:.0f}",
        line(1, "ttd"),
        line(2, "ttr"),
        labels,
    )
