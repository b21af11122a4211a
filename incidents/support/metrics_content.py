"""The metrics page's content (filters, period, figures, charts and tables), rendered
with Jinja2 as the support board is (``rows``): in Django's template language, with its
form widgets, includes and a filter per cell, the rendering was a third of a page
computed after a change.

Translations stay Django's: every word is a ``gettext`` call in this module (the same
messages the template language used), translated once per language, and durations go
through the ``duration`` filter's own function.
"""

from __future__ import annotations

import functools
from datetime import date
from types import SimpleNamespace
from typing import Any

from django import forms
from django.http import QueryDict
from django.template import engines
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext, pgettext
from markupsafe import Markup

from config.navigation import key_url, url
from incidents.models import Severity
from incidents.support import charts
from incidents.support.metrics import Group, Metrics, Summary
from incidents.templatetags.hotline import duration

CONTENT = "incidents/support/metrics_content.html"


@functools.lru_cache(maxsize=8)
def _words(_language: str) -> SimpleNamespace:
    """The page's words, keyed by the language they are translated into (the current
    one). Attributes: Jinja2 reads ``t.key`` as an attribute first."""
    words = SimpleNamespace(
        title=gettext("Time to detect and to recover"),
        export=gettext("Export CSV"),
        period=gettext("Period"),
        dates_below=gettext("From and to below"),
        since=gettext("From"),
        until=pgettext("the end of a period", "To"),
        team=gettext("Team"),
        any_team=gettext("Any team"),
        service=gettext("Service"),
        any_service=gettext("Any service"),
        severity=gettext("Severity"),
        any_severity=gettext("Any severity"),
        filter=gettext("Filter"),
        clear=gettext("Clear"),
        median=gettext("Median"),
        monthly=gettext("Monthly medians"),
        no_start=gettext("No incident has an impact start yet."),
        by_severity=gettext("By severity"),
        by_service=gettext("By faulty service"),
        by_month=gettext("By month of impact start"),
        ttd_median=gettext("TTD median"),
        ttd_p90=gettext("TTD p90"),
        ttr_median=gettext("TTR median"),
        ttr_p90=gettext("TTR p90"),
        with_ttr=gettext("With TTR"),
        nothing_to_group=gettext("Nothing to group."),
        missing_times=gettext("Missing times"),
        not_counted=gettext(
            "These incidents count in neither TTD nor TTR until their times are filled in."
        ),
        key=gettext("Key"),
        sev=gettext("Sev"),
        summary=gettext("Summary"),
        missing=gettext("Missing"),
        in_the_list=gettext("In the incident list"),
        all_timed=gettext("Every incident here has its times. Good."),
        none_filtered=gettext("No incidents in this period match these filters."),
        none=gettext("No incidents in this period."),
        where_from=gettext(
            "TTD and TTR come from each incident's impact start, detection and impact end."
        ),
        # The gaps' names, as ``metrics.Row.missing`` gives them.
        gaps={
            "impact started": gettext("impact started"),
            "detected": gettext("detected"),
            "impact ended": gettext("impact ended"),
        },
        severities=[(str(value), str(label)) for value, label in Severity.choices],
    )
    # The filters' names in what the form refuses.
    words.fields = {
        "period": words.period,
        "since": words.since,
        "until": words.until,
        "team": words.team,
        "service": words.service,
        "severity": words.severity,
    }
    return words


def _period(figures: Metrics, since: date | None, until: date | None, period: str) -> Markup:
    """What the page counts, and over which period, as one sentence."""
    counted = ngettext(
        "%(counter)s incident whose impact started (or, without a start, that was logged)",
        "%(counter)s incidents whose impact started (or, without a start, that were logged)",
        figures.count,
    ) % {"counter": figures.count}
    first = date_format(since, "DATE_FORMAT") if since else ""
    last = date_format(until, "DATE_FORMAT") if until else ""
    # The markup is the translation's; the dates in it are escaped (``Markup``'s %).
    if since and until:
        span = Markup(gettext("from <strong>%(first)s</strong> to <strong>%(last)s</strong>"))
    elif since:
        span = Markup(gettext("from <strong>%(first)s</strong> to <strong>today</strong>"))
    elif until:
        span = Markup(gettext("up to <strong>%(last)s</strong>"))
    else:
        span = Markup("<strong>%(anytime)s</strong>")
    said = Markup("{}: {}").format(
        counted, span % {"first": first, "last": last, "anytime": gettext("at any time")}
    )
    if period and period != "all":
        days = (
            gettext("the last %(period)s days, the default")
            if period == "90"
            else gettext("the last %(period)s days")
        ) % {"period": period}
        said += Markup(" ({})").format(days)
    return said + "."


def _latest(figures: Metrics, missing_url: str) -> Markup:
    """Where the list of incidents missing times stops short of all of them."""
    # The link is the translation's; the URL in it is escaped (``Markup``'s %).
    return Markup(
        gettext(
            'The latest %(shown)s of %(total)s. <a href="%(missing_url)s">All %(total)s '
            "in the incident list</a> (the CSV export has their times too)."
        )
    ) % {"shown": len(figures.missing), "total": figures.missing_count, "missing_url": missing_url}


def _group_rows(grouped: list[Group]) -> Markup:
    """A group table's rows (``metrics.Group``): each rendered once per language and
    figures, in Python. After a change most rows are as before, and in the template
    each row's four durations cost more than the rest of the page's rendering."""
    language = get_language() or ""
    return Markup("").join(_group_row(name, ttd, ttr, language) for name, ttd, ttr in grouped)


@functools.lru_cache(maxsize=2048)
def _group_row(name: str, ttd: Summary, ttr: Summary, _language: str) -> Markup:
    return Markup(
        '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>'
    ).format(
        name,
        duration(ttd.median),
        duration(ttd.p90),
        duration(ttr.median),
        duration(ttr.p90),
        ttr.count,
    )


# The charts, drawn once per language and figures (they translate their labels): after
# a change, a histogram's bins and the months' medians are most often as before.
@functools.lru_cache(maxsize=64)
def _histogram(bins: tuple[tuple[str, int], ...], title: str, _language: str) -> SafeString:
    return charts.histogram_svg(list(bins), title)


@functools.lru_cache(maxsize=64)
def _trend(months: tuple[Group, ...], title: str, _language: str) -> SafeString:
    return charts.trend_svg(list(months), title)


def _incidents(count: int) -> str:
    return ngettext("%(counter)s incident", "%(counter)s incidents", count) % {"counter": count}


def content(
    form: forms.Form,
    figures: Metrics,
    params: QueryDict,
    filters: dict[str, Any],
    periods: list[tuple[str, str]],
    *,
    edit_missing: bool,
) -> SafeString:
    """The page's content for the current language and zone. ``filters``: the form's
    cleaned data (empty when it is not valid); ``periods``: the named periods' values
    and labels; ``edit_missing``: the incidents missing times link where their times
    are filled in, else to the incident page."""
    query = params.urlencode()
    missing_url = _missing_url(filters)
    since, until, period = filters.get("since"), filters.get("until"), filters.get("period", "")
    kept = {name: value for name in ("team", "service", "severity") if (value := params.get(name))}
    language = get_language() or ""
    context = {
        "t": _words(language),
        "m": figures,
        "query": query,
        "csv_url": url("support:metrics_csv") + (f"?{query}" if query else ""),
        "page_url": url("support:metrics"),
        "form": form,
        "value": {name: form[name].value() or "" for name in form.fields},
        "period": period,
        "periods": [
            (value, label, urlencode({**kept, "period": value})) for value, label in periods
        ],
        "teams": figures.teams,
        "services": figures.services,
        "said": _period(figures, since, until, period),
        "incidents": _incidents,
        "group_rows": _group_rows,
        "duration": duration,
        "latest": _latest(figures, missing_url),
        "missing_url": missing_url,
        "link": key_url("incidents:edit" if edit_missing else "incidents:detail"),
        "ttd_chart": _histogram(
            tuple(figures.ttd_histogram), gettext("TTD distribution"), language
        ),
        "ttr_chart": _histogram(
            tuple(figures.ttr_histogram), gettext("TTR distribution"), language
        ),
        "trend_chart": _trend(
            tuple(figures.by_month), gettext("Monthly median TTD and TTR"), language
        ),
    }
    # Rendered by the template, with autoescape on.
    return mark_safe(engines["jinja2"].get_template(CONTENT).render(context))


def _missing_url(filters: dict[str, Any]) -> str:
    """The incident list showing every incident the page counts as missing times."""
    query = {"missing": "times"}
    for name in ("since", "until"):
        if filters.get(name):
            query[name] = filters[name].isoformat()
    for name in ("team", "service", "severity"):
        if filters.get(name):
            query[name] = str(filters[name])
    return f"{url('incidents:list')}?{urlencode(query)}"
