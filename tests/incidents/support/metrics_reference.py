"""The metrics page's figures computed the slow, plain way, to hold the fast ones to."""

import math
import statistics
from datetime import UTC, timedelta

from incidents.models import Incident, Severity
from incidents.support import metrics


def summarize(values):
    """The figures as the page defines them, the plain way: the median of the seconds
    to the second, p90 the nearest-rank value."""
    if not values:
        return metrics.Summary(count=0, median=None, p90=None)
    ordered = sorted(values)
    seconds = statistics.median(value.total_seconds() for value in ordered)
    rank = max(1, math.ceil(0.9 * len(ordered)))
    return metrics.Summary(
        count=len(ordered),
        median=timedelta(seconds=round(timedelta(seconds=seconds).total_seconds())),
        p90=ordered[rank - 1],
    )


def histogram(values):
    counts = dict.fromkeys([label for _, label in metrics.BINS] + [metrics.OVER], 0)
    for value in values:
        label = next((label for bound, label in metrics.BINS if value < bound), metrics.OVER)
        counts[label] += 1
    return list(counts.items())


def reference(incidents):
    """The figures the slow way: every row read, durations in Python."""
    all_rows = list(metrics.rows(incidents))

    def grouped(name_of):
        names = sorted({name_of(row) for row in all_rows} - {None})
        return [
            (
                name,
                summarize([r.ttd for r in all_rows if name_of(r) == name and r.ttd is not None]),
                summarize([r.ttr for r in all_rows if name_of(r) == name and r.ttr is not None]),
            )
            for name in names
        ]

    ttds = [row.ttd for row in all_rows if row.ttd is not None]
    ttrs = [row.ttr for row in all_rows if row.ttr is not None]
    return {
        "count": len(all_rows),
        "ttd": summarize(ttds),
        "ttr": summarize(ttrs),
        "ttd_histogram": histogram(ttds),
        "ttr_histogram": histogram(ttrs),
        "by_severity": grouped(lambda row: Severity(row.severity).label),
        "by_service": grouped(lambda row: row.service),
        "by_month": grouped(
            lambda row: (
                row.impact_started_at.astimezone(UTC).strftime("%Y-%m")
                if row.impact_started_at
                else None
            )
        ),
        "missing_count": sum(1 for row in all_rows if row.missing),
    }


def assert_figures_match(viewer, restricted=None, **filters):
    """The figures ``viewer`` sees equal the slow way's over the incidents they may see;
    ``restricted``: the restricted incidents they see, where the page knows them."""
    figures = metrics.compute(viewer, restricted=restricted, **filters)
    visible = Incident.objects.visible_to(viewer)
    for name, expected in reference(metrics.filtered(visible, **filters)).items():
        assert getattr(figures, name) == expected, (name, filters)
