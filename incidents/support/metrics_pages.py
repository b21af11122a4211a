"""The metrics page (HANDBOOK §10): its filters, its content as computed and kept per
version of the figures (``metrics.page``), and the pages people have open, which a
worker renders again after a change (``warm``) so that the next viewer reads theirs
from the cache instead of computing it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from incidents import access
from incidents.models import Severity
from incidents.support import metrics, metrics_content
from incidents.support.watched import Watched

# The metrics pages people have open lately. A shape: the query, the restricted
# incidents the page counted, whether missing times link to the edit form, the zone and
# the language.
PAGES = Watched("metrics")
Shape = tuple[str, tuple[int, ...], bool, str, str]


class MetricsFilter(forms.Form):
    period = forms.ChoiceField(
        choices=[
            ("30", gettext_lazy("Last 30 days")),
            ("90", gettext_lazy("Last 90 days")),
            ("365", gettext_lazy("Last year")),
            ("all", gettext_lazy("All time")),
        ],
        required=False,
    )
    since = forms.DateField(required=False, label=gettext_lazy("From"))
    until = forms.DateField(required=False, label=pgettext_lazy("the end of a period", "To"))
    team = forms.SlugField(required=False)
    service = forms.SlugField(required=False)
    severity = forms.TypedChoiceField(
        choices=[("", gettext_lazy("Any severity")), *Severity.choices],
        coerce=int,
        required=False,
        empty_value=None,
    )

    def clean(self) -> dict[str, Any]:
        """Dates given make a period of their own; otherwise the named period, by
        default the last 90 days (ending today)."""
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end of the period comes before its start."))
        if not since and not until and "period" not in self.errors:
            cleaned["period"] = cleaned.get("period") or metrics.DEFAULT_PERIOD
            cleaned["since"] = metrics.period_since(cleaned["period"])
        else:
            cleaned["period"] = ""
        return cleaned

    def filters(self) -> dict[str, Any]:
        """What ``metrics.filtered`` takes."""
        return {name: value for name, value in self.cleaned_data.items() if name != "period"}


def _content(
    params: QueryDict,
    user: User | AnonymousUser,
    restricted: tuple[int, ...],
    *,
    edit_missing: bool,
) -> tuple[metrics.Metrics, str, int]:
    """The page's content (filters, period, figures and charts) and its status. No
    request: the worker renders it too (``warm``), and it needs no context processor.
    ``restricted``: the restricted incidents the viewer sees (``metrics.page``)."""
    form = MetricsFilter(params)
    valid = form.is_valid()
    figures = (
        metrics.compute(user, **form.filters(), restricted=restricted)
        if valid
        else metrics.nothing()
    )
    content = metrics_content.content(
        form,
        figures,
        params,
        form.cleaned_data if valid else {},
        form.fields["period"].choices,  # type: ignore[attr-defined]
        edit_missing=edit_missing,
    )
    return figures, content, 400 if form.errors else 200


def _may_edit(user: User | AnonymousUser) -> bool:
    # A missing-times row links where its times are filled in only for who may follow
    # that link; the others (support, responders) go to the incident page. The rows are
    # plain values, and editing is the role's permission (``access.can_edit`` does not
    # look at the incident): one answer for all.
    return user.has_perm("incidents.change_incident")


def shown(user: User | AnonymousUser, params: QueryDict) -> metrics.Page:
    """The page's content and status for ``user`` asking ``params`` (and its figures
    where computed): computed once per version of the figures (``metrics.page``), else
    read from the cache."""
    access.check_view_incidents(user)
    edit_missing = _may_edit(user)
    return metrics.page(
        user,
        # Named periods end today: the same query means another period tomorrow.
        vary=(sorted(params.lists()), timezone.localdate(), edit_missing),
        render=lambda restricted: _content(params, user, restricted, edit_missing=edit_missing),
    )


def viewed(user: User, params: QueryDict, page: metrics.Page) -> None:
    """Note the ``page`` ``user`` opened, for the worker's warm-up after the next change."""
    shape: Shape = (
        params.urlencode(),
        page.restricted,
        _may_edit(user),
        timezone.get_current_timezone_name(),
        translation.get_language(),
    )
    PAGES.open_now(shape, user.pk)


def figures_changed() -> None:
    """After a change of the figures commits: while someone has the page open, ask a
    worker to compute the pages people have open (``warm_metrics_pages``)."""
    from incidents.support.tasks import warm_metrics_pages

    PAGES.ask_warm_up(warm_metrics_pages)


def warm() -> int:
    """Compute the pages people have open for the figures as they are now, each for
    the person it was last shown to (the worker's job after a change). Pages already
    computed cost a query and a cache read; someone who may no longer see incidents is
    skipped. Returns how many pages were checked."""
    shapes = PAGES.shapes()
    people = User.objects.in_bulk({user_pk for _when, user_pk in shapes.values()})
    warmed = 0
    for (query, _restricted, _edit, zone, language), (_when, user_pk) in shapes.items():
        user = people.get(user_pk)
        if user is None or not user.is_active or not access.can_view_incidents(user):
            continue
        with timezone.override(zone), translation.override(language):
            shown(user, QueryDict(query))
        warmed += 1
    return warmed
