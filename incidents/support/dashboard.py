"""The support dashboard's reads (HANDBOOK §1): active incidents with their labelled
cases, recently resolved ones, and the change marker its polls compare.

``incidents`` never imports ``comms``; the time of each incident's last public update
comes from a provider comms registers in ``AppConfig.ready()``. Without one the column
says "unknown".
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Aggregate,
    CharField,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from config import auth
from config.cache_batch import Batch
from config.statements import Run, Statement, compile_query, compiled, fetch, fetch_named
from config.transactions import on_commit_once
from incidents import access
from incidents.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Incident,
    IncidentQuerySet,
    Product,
    Team,
)
from incidents.support.watched import Shapes, Watched

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# () -> an expression of the incident's latest published update (``OuterRef("pk")``
# is the incident): the board reads it as a column of its one query.
LastUpdate = Callable[[], Subquery]

# A live board shows the incidents a team can act on, not a thousand rows: the most
# severe and longest-running first, and a link to the full list for the rest. A
# hundred rows is a few screens; past that people filter by product or team.
ACTIVE_SHOWN = 100
RECENTLY_RESOLVED = timedelta(hours=24)
RESOLVED_SHOWN = 20
# A severe incident this young is highlighted: support should notice it at once.
NEW_FOR = timedelta(minutes=15)


class _NotRead(enum.Enum):
    NOT_READ = enum.auto()


# A key not read yet: a value read along with others (``page_reads``) may be missing
# (None) and is then not asked for again.
NOT_READ: Final = _NotRead.NOT_READ
NotRead = Literal[_NotRead.NOT_READ]

# The cached version of everything the board shows; see ``change_marker``.
VERSION_KEY = "support-board:version"
# The boards people have open lately: rendered again by a worker after each change.
BOARDS = Watched("support-board")

_last_update: LastUpdate | None = None


def register_last_update(provider: LastUpdate) -> None:
    global _last_update
    _last_update = provider


def _fresh_version() -> int:
    """The clock in microseconds: where versions start, and what every move passes
    (``_next_version``), so versions only grow, across a lost or restored cache too,
    and a version never names two states of the boards: what is kept under it, in the
    cache or a process (``board``), is never stale."""
    return time.time_ns() // 1000


def _next_version() -> int:
    """The version after a change: one more, or the clock if that is more, in one atomic
    step on Redis (a cache restored from an older snapshot holds a version already
    used). Other caches are one process's (tests) or the embedded default's files."""
    moved_at = time.monotonic()
    at_least = getattr(cache, "incr_at_least", None)
    if at_least is not None:
        version = int(at_least(VERSION_KEY, _fresh_version()))
    else:
        try:
            version = cache.incr(VERSION_KEY)
        except ValueError:  # not cached
            version = _start_version() or cache.incr(VERSION_KEY)
    _keep_version(version, moved_at)
    return version


def _start_version() -> int | None:
    """Start the version from the clock where the cache has none (evicted, a restarted
    cache); None if another process has just started it. ``add``: never overwrite a
    version a commit has just moved."""
    version = _fresh_version()
    return version if cache.add(VERSION_KEY, version, timeout=None) else None


# The marker's version as this process last read or moved it, and until when (on the
# monotonic clock) an unchanged poll may be answered from it without asking the cache
# (``kept_marker``): a change committed by another process reaches this one's polls at
# most this much later (a poll comes every few seconds); one of this process's, at once.
MARKER_KEPT_SECONDS = 0.5
_kept_version: tuple[float, int] | None = None
_keeping = threading.Lock()


def _keep_version(version: int, read_at: float) -> None:
    """Keep ``version``, read from the cache (or moved) at ``read_at`` on the monotonic
    clock, unless this process keeps a newer one: versions only grow, and a thread
    that read an older one before another's change must not bring it back."""
    global _kept_version
    with _keeping:
        kept = _kept_version
        if kept is None or version >= kept[1]:
            _kept_version = (read_at + MARKER_KEPT_SECONDS, version)


def forget_kept_marker() -> None:
    """Drop the version this process keeps (a process just started keeps none)."""
    global _kept_version
    _kept_version = None


def kept_marker(now: datetime | None = None) -> str | None:
    """The marker of the version this process read or moved within the last
    ``MARKER_KEPT_SECONDS``, or None. Good for answering "nothing changed" to a poll
    that holds it; any other poll asks the cache (``change_marker``), so a board is
    never rendered for a version older than one a viewer has seen."""
    kept = _kept_version
    if kept is None or time.monotonic() >= kept[0]:
        return None
    return _marker(kept[1], now)


def change_marker(now: datetime | None = None, *, version: int | NotRead | None = NOT_READ) -> str:
    """What a poll compares: it moves whenever anything the board shows changes, and
    once a minute (the "new" highlight and the last day's resolved list follow the
    clock).

    Read from the cache, so an unchanged poll makes no query; ``version``: the cache's,
    read by the caller already. The actions move it after each commit
    (``incidents_changed``); when the cache has lost it (evicted, a restarted Redis) it
    starts again from the clock (``_fresh_version``)."""
    read_at = time.monotonic()
    asked = version is NOT_READ
    read: int | None = cache.get(VERSION_KEY) if version is NOT_READ else version
    if read is None:
        read, asked = _start_version() or cache.get(VERSION_KEY, _fresh_version()), True
    if asked:  # kept only as read here, when it was read
        _keep_version(read, read_at)
    return _marker(read, now)


def _marker(version: int, now: datetime | None) -> str:
    return f"{version}-{int((now or timezone.now()).timestamp() // 60)}"


def bump_marker() -> None:
    """Move the marker; while someone has a board open (``BOARDS``), ask a
    worker to render the boards people have open, so the first of them to poll finds
    theirs ready (``warm_support_boards``), and note the restricted incidents a board
    can show now, so that no viewer has to read them (``visibility``)."""
    version = _next_version()
    from incidents.support.tasks import warm_support_boards

    # One warm-up per burst: one action moves the marker several times, and a warm-up
    # queued but not started reads the marker as it is when it starts.
    if BOARDS.ask_warm_up(warm_support_boards):
        _note_restricted(version)


def incidents_changed() -> None:
    """Move the marker once the current transaction commits: a poll that sees the new
    marker is sure to read the new rows. Called by the actions for every change of an
    incident, its labelled cases or its published updates; the marker moves once per
    transaction (one cache increment, and while boards are open one warm-up request and
    one read of the restricted incidents); a rolled-back change moves nothing.

    Robust (``on_commit_once``): the change is committed whatever happens to the cache;
    a cache outage must neither turn it into an error nor stop the callbacks queued
    after this one (the outbox's wake-ups)."""
    on_commit_once(bump_marker)


# The restricted incidents a board can show, as of a version of the marker:
# ``(version, ids)``, noted after each change and read along with the marker.
RESTRICTED_KEY = "support-board:restricted"
# A note is read again at least this often: one that a restored cache brought back
# must not stand for long.
RESTRICTED_SECONDS = 120
Noted = tuple[int, list[int]]


def _restricted_run(now: datetime) -> Run:
    def compile_() -> Statement:
        on_a_board = Q(status__in=OPEN_STATUSES) | _recently_resolved(_SENTINEL)
        restricted = Incident.objects.filter(on_a_board, restricted=True).values_list("pk")
        return compile_query(restricted.order_by(), sentinels=[_cutoff_param(_SENTINEL)])

    statement = compiled("board-restricted", compile_)
    return statement, statement.params_for(_cutoff_param(now))


def _keep_note(version: int, rows: list[Sequence[Any]], writes: Batch) -> Noted:
    """The restricted incidents a board can show, from ``_restricted_run``'s rows, noted
    for ``version`` (kept when ``writes`` are sent)."""
    restricted = [pk for (pk,) in rows]
    # Read after the change's commit (or the marker's start): they hold for its version.
    # A note of an older version may overwrite a newer one in a race: readers of the
    # newer version then read the database once more, and note it again.
    writes.set(RESTRICTED_KEY, (version, restricted), RESTRICTED_SECONDS)
    return version, restricted


def _note_restricted(version: int) -> list[int]:
    writes = Batch()
    noted = _keep_note(version, fetch([_restricted_run(timezone.now())])[0], writes)
    writes.send()
    return noted[1]


def _version(marker: str) -> int:
    return int(marker.partition("-")[0])


def visibility(
    user: User | AnonymousUser,
    *,
    marker: str,
    noted: Noted | NotRead | None = NOT_READ,
) -> tuple[int, ...] | None:
    """People with the same visibility see the same board, so they can share its
    rendering: everyone who may see restricted incidents (None), or everyone who may
    see the same restricted ones among those a board can show (their ids, usually
    none). Which restricted incidents a board can show is noted after each change
    (``bump_marker``; ``noted`` when read along with the marker, and then not read
    again when missing or older): usually no query at all, a second one only when there
    are some.

    Incidents only leave the boards with time (a day after their end), so a note stays
    true for its version, if wider than needed."""
    if user.has_perm("incidents.view_restricted_incident"):
        return None
    version = _version(marker)
    note: Noted | None = cache.get(RESTRICTED_KEY) if noted is NOT_READ else noted
    restricted = note[1] if note is not None and note[0] == version else None
    if restricted is None:
        restricted = _note_restricted(version)
    if not restricted:
        return ()
    return tuple(
        Incident.objects.visible_to(user)
        .filter(pk__in=restricted)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


class Choice(NamedTuple):
    """A product or team in the board's filters: what the form and the URL need (a
    tuple: cached and read back on every page)."""

    pk: int
    slug: str
    name: str


# The filters' products and teams, kept until the catalogue changes (see
# ``watch_catalogue``), with the marker's version read before they were read from the
# database; the timeout only bounds a change made behind the ORM's back (a bulk
# update, raw SQL). Rows name products from it too.
# The format is part of the key: a deployment that changes it never reads old values.
CATALOGUE_KEY = "support-board:catalogue:3"
CATALOGUE_SECONDS = 10 * 60
# The marker's version a catalogue change committed at: a catalogue read before it is
# stale, even when a reader that read it before the change stores it after.
CATALOGUE_SINCE_KEY = "support-board:catalogue-since"


Catalogue = tuple[list[Choice], list[Choice]]


def _fresh_catalogue(cached: tuple[int, Catalogue] | None, since: int | None) -> Catalogue | None:
    if cached is None or (since is not None and cached[0] < since):
        return None
    return cached[1]


def catalogue(version: int | None = None) -> Catalogue:
    """Every product and every team, by name, for the filters and the rows' products:
    from the cache, so a page of the board reads no catalogue at all. ``version``: the
    marker's, where read already."""
    keys = [CATALOGUE_KEY, CATALOGUE_SINCE_KEY]
    found = cache.get_many(keys if version is not None else [*keys, VERSION_KEY])
    fresh = _fresh_catalogue(found.get(CATALOGUE_KEY), found.get(CATALOGUE_SINCE_KEY))
    if fresh is not None:
        return fresh
    if version is None:
        version = _version(change_marker(version=found.get(VERSION_KEY)))
    return _read_catalogue(version)


def _catalogue_statement(model: type[Product] | type[Team]) -> Statement:
    return compiled(
        ("board-catalogue", model),
        lambda: compile_query(
            model.objects.order_by("name", "pk").values_list("pk", "slug", "name")
        ),
    )


def _catalogue_runs() -> list[Run]:
    statements = [_catalogue_statement(Product), _catalogue_statement(Team)]
    return [(statement, statement.params) for statement in statements]


def compile_reads() -> None:
    """Compile what a page reads once the cache lost it (the catalogue, the restricted
    incidents a board can show), ahead of the first page (``board.warm_at_start``)."""
    _catalogue_runs()
    _restricted_run(timezone.now())


def _keep_catalogue(
    version: int, products: list[Any], teams: list[Any], writes: Batch
) -> Catalogue:
    """The catalogue from its runs' rows (``_catalogue_runs``), kept under the marker's
    ``version`` read before (when ``writes`` are sent)."""
    fresh = ([Choice(*row) for row in products], [Choice(*row) for row in teams])
    writes.set(CATALOGUE_KEY, (version, fresh), CATALOGUE_SECONDS)
    return fresh


def _read_catalogue(version: int) -> Catalogue:
    """The catalogue from the database, kept under the marker's ``version`` read before."""
    writes = Batch()
    products, teams = fetch(_catalogue_runs())
    fresh = _keep_catalogue(version, products, teams, writes)
    writes.send()
    return fresh


@dataclass(frozen=True)
class PageReads:
    """What a page of the board has read before its board (``page_reads``); a poll or the
    worker's warm-up knows the marker only."""

    marker: str
    # The filters' catalogue; the restricted incidents' note (None: none kept).
    catalogue: Catalogue | None = None
    noted: Noted | NotRead | None = NOT_READ
    # Whether this page started the marker's version (a cold cache): no board is kept
    # under it yet, so none is asked for.
    started: bool = False
    # The open boards' note (``BOARDS``), read along when the marker was started.
    shapes: Shapes | NotRead | None = NOT_READ
    # What the page read from the database, kept when the board's own writes are sent.
    writes: Batch = field(default_factory=Batch)


def page_reads(user: User | AnonymousUser, now: datetime | None = None) -> PageReads:
    """The page's marker, the filters' catalogue and the noted restricted incidents,
    read from the cache together, with ``user``'s permissions (``auth.take``). Those
    missing or old (a cold cache) are read from the database at once, in one round trip,
    and kept when the board's writes are sent (``PageReads.writes``: the caller sends
    them, as ``board`` does with the board); the restricted incidents too, unless
    ``user`` is known to see every one. On a cold cache the versions are started in one
    more round trip, which reads the open boards' note too."""
    found = cache.get_many(
        [VERSION_KEY, CATALOGUE_KEY, CATALOGUE_SINCE_KEY, RESTRICTED_KEY, *auth.cache_keys(user)]
    )
    starts = auth.versions_to_start(user, found)
    if found.get(VERSION_KEY) is None:
        starts[VERSION_KEY] = _fresh_version()
    shapes: Shapes | NotRead | None = NOT_READ
    if starts:
        read_at = time.monotonic()
        batch = Batch()
        for key, value in starts.items():
            batch.start(key, value)
        batch.get(BOARDS.key)
        begun = batch.send()
        shapes = begun.get(BOARDS.key)
        found |= {key: begun.get(key) for key in starts}
        if VERSION_KEY in starts and found[VERSION_KEY] is not None:
            _keep_version(found[VERSION_KEY], read_at)  # as ``change_marker`` keeps a start
    auth.take(user, found)
    marker = change_marker(now, version=found.get(VERSION_KEY))
    version = _version(marker)
    choices = _fresh_catalogue(found.get(CATALOGUE_KEY), found.get(CATALOGUE_SINCE_KEY))
    noted: Noted | None = found.get(RESTRICTED_KEY)
    permissions = auth.read_along(user)
    sees_all = (user.is_active and user.is_superuser) or (
        permissions is None and user.has_perm("incidents.view_restricted_incident")
    )
    wanted = {}
    if permissions is not None:
        wanted["permissions"] = [permissions.run]
    if choices is None:
        wanted["catalogue"] = _catalogue_runs()
    if (noted is None or noted[0] != version) and not sees_all:
        wanted["restricted"] = [_restricted_run(now or timezone.now())]
    read = fetch_named(wanted)
    writes = Batch()
    if permissions is not None:
        (granted,) = read["permissions"]
        permissions.keep(granted, writes)
    if choices is None:
        products, teams = read["catalogue"]
        choices = _keep_catalogue(version, products, teams, writes)
    if "restricted" in read:
        noted = _keep_note(version, read["restricted"][0], writes)
    return PageReads(
        marker,
        choices,
        noted,
        started=version == starts.get(VERSION_KEY),
        shapes=shapes,
        writes=writes,
    )


def _catalogue_committed() -> None:
    try:
        # Longer than a catalogue lives: one stored late under an earlier version expires first.
        cache.set(CATALOGUE_SINCE_KEY, _next_version(), 2 * CATALOGUE_SECONDS)
        cache.delete(CATALOGUE_KEY)
    finally:  # the rows show product names: the boards move even when the mark failed
        bump_marker()


def catalogue_changed(**_: object) -> None:
    """A product or team was saved or deleted: once that commits, mark every catalogue
    read before as stale (a reader may store one it read before the commit after it)
    and forget the one kept, and move the marker, since rows show product names.

    The stale mark takes a version of its own, and the marker moves once more after
    it: a board rendered between the mark's move and the mark, with the old names, is
    kept under a version nobody polls for (one move could not mark and move at once)."""
    on_commit_once(_catalogue_committed)


def watch_catalogue() -> None:
    """Called from ``AppConfig.ready()``: a cache to forget is no domain logic, and
    the admin and the demo loader change the catalogue without an action."""
    for model in (Product, Team):
        post_save.connect(
            catalogue_changed, sender=model, dispatch_uid=f"board-{model.__name__}-save"
        )
        post_delete.connect(
            catalogue_changed, sender=model, dispatch_uid=f"board-{model.__name__}-delete"
        )


def _person_saved(
    created: bool = False, update_fields: frozenset[str] | None = None, **_: object
) -> None:
    """Rows show their assignee's username: a rename, once committed, moves the marker.
    A new person is on no row, and a sign-in writes ``last_login`` only."""
    if not created and (update_fields is None or "username" in update_fields):
        incidents_changed()


def watch_people() -> None:
    """Called from ``AppConfig.ready()``: the admin renames people without an action.
    (An assignee cannot be deleted: incidents protect theirs.)"""
    post_save.connect(_person_saved, sender=get_user_model(), dispatch_uid="board-person-save")


class Row(NamedTuple):
    """One incident as the board shows it: plain values read with ``values_list``
    (building model instances for a hundred rows cost more than rendering them).
    Everything a row shows is a field here; ``rows`` renders them, keyed by the row (a
    tuple: built and hashed in C)."""

    pk: int
    key: str
    summary: str
    severity: int
    status: str
    restricted: bool
    impact_started_at: datetime | None
    impact_ended_at: datetime | None
    created_at: datetime
    updated_at: datetime
    case_count: int
    assignee_name: str | None = None
    product_names: tuple[str, ...] = ()
    last_update_at: datetime | None = None
    is_new_severe: bool = False


# The columns of ``Row`` read from the incident table, in order.
SHOWN_FIELDS = (
    "pk",
    "key",
    "summary",
    "severity",
    "status",
    "restricted",
    "impact_started_at",
    "impact_ended_at",
    "created_at",
    "updated_at",
    "case_count",
)
_SEVERITY, _CREATED_AT = SHOWN_FIELDS.index("severity"), SHOWN_FIELDS.index("created_at")


class _JoinedIds(Aggregate):
    """The ids joined by commas, as text: ``STRING_AGG`` on PostgreSQL,
    ``GROUP_CONCAT`` on SQLite."""

    function = "STRING_AGG"
    output_field = CharField()

    def __init__(self, expression: str) -> None:
        super().__init__(Cast(expression, CharField()), Value(","))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="GROUP_CONCAT", **extra)


def _product_ids() -> Subquery:
    """The incident's affected products' ids, in one column: a correlated subquery run
    for the rows shown only. Their names come from the filters' catalogue, which the
    page has read anyway (``_named``): joining the products for each row was a fifth
    of the query's time."""
    links = (
        Incident.affected_products.through.objects.filter(incident_id=OuterRef("pk"))
        .order_by()
        .values("incident_id")
        .annotate(ids=_JoinedIds("product_id"))
        # The stubs do not follow an annotation on an auto-created through model.
        .values("ids")  # type: ignore[misc]
    )
    return Subquery(links, output_field=CharField())


def _product_names(joined: list[str | None], choices: Catalogue | None) -> dict[int, str]:
    """The names of the products in ``joined`` (``_product_ids``), from the catalogue
    (``choices`` if read already); any it does not hold yet (a product added since it
    was read) from the database."""
    wanted = {int(pk) for ids in joined if ids for pk in ids.split(",")}
    if not wanted:
        return {}
    names = {choice.pk: choice.name for choice in (choices or catalogue())[0]}
    if missing := wanted - names.keys():
        names |= dict(Product.objects.filter(pk__in=missing).values_list("pk", "name"))
    return names


def _named(ids: str | None, names: dict[int, str]) -> tuple[str, ...]:
    # Ordered like Product, by name (unique), regardless of case as a collation would. A
    # product deleted since the row was read is gone from it too (the marker moved).
    if not ids:
        return ()
    found = (names.get(int(pk)) for pk in ids.split(","))
    return tuple(sorted((name for name in found if name is not None), key=str.casefold))


@dataclass(frozen=True)
class Board:
    # The first ``ACTIVE_SHOWN`` of ``active_total`` active incidents.
    active: list[Row]
    active_total: int
    resolved: list[Row]
    # False while no app publishes updates.
    updates_known: bool
    new_since: datetime

    @property
    def capped(self) -> bool:
        return self.active_total > len(self.active)

    def shareable_with(self, seen: tuple[int, ...] | None) -> bool:
        """Whether this board may be shown to everyone with visibility ``seen``: it
        holds no restricted incident beyond those. (One made restricted between the
        visibility check and the board's read keeps the board to its reader.)"""
        if seen is None:
            return True
        shown = {row.pk for row in (*self.active, *self.resolved) if row.restricted}
        return shown <= set(seen)


def _recently_resolved(now: datetime) -> Q:
    """The resolved incidents the board lists below the active ones: reviewed ones too,
    since a review within the day does not undo the resolution support reports on."""
    return Q(status__in=CLOSED_STATUSES, impact_ended_at__gte=now - RECENTLY_RESOLVED)


def _queries(
    visible: IncidentQuerySet, product_id: int | None, team_id: int | None, now: datetime
) -> tuple[QuerySet[Incident], QuerySet[Incident]]:
    """The board's two queries over the ``visible`` incidents: the first active ones,
    the recently resolved."""
    if product_id is not None:
        visible = visible.filter(affected_products=product_id)
    if team_id is not None:
        visible = visible.filter(faulty_service__team=team_id)
    incidents = visible.with_case_count()
    # Most severe first; within a severity the longest-running first: the first rows
    # of an index walk (``incident_open_board``). The total of active incidents is a
    # subquery of the same query, counted once (``COUNT`` as a plain function: one
    # row, no GROUP BY). The IM's name, not a user per row; products, cases and the
    # last public update as columns of the rows shown only.
    total = visible.open().order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    active = incidents.open().annotate(
        assignee_name=F("assignee__username"),
        product_ids=_product_ids(),
        active_total=Subquery(total, output_field=IntegerField()),
    )
    extra = ["assignee_name", "product_ids", "active_total"]
    if _last_update is not None:
        active = active.annotate(last_update_at=_last_update())
        extra.append("last_update_at")
    return (
        active.order_by("severity", "created_at", "pk").values_list(*SHOWN_FIELDS, *extra)[
            :ACTIVE_SHOWN
        ],
        incidents.filter(_recently_resolved(now))
        .order_by("-impact_ended_at", "-pk")
        .values_list(*SHOWN_FIELDS)[:RESOLVED_SHOWN],
    )


# Compiling the board's queries (visibility, five subqueries) took ten times as long
# as running them. So each is compiled once per thread and shape
# (``config.statements``), and run again with only its time parameter and the viewer's
# id replaced. The shape is everything the SQL depends on: the reader's permissions
# (``visible_to`` reads those and compares with the person, a parameter), the filters and
# the number of rows shown.
# Compiled in place of ``now``, then found among the parameters and replaced.
_SENTINEL = datetime(1970, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _statements(
    user: User | AnonymousUser, product_id: int | None, team_id: int | None
) -> tuple[Statement, Statement] | None:
    shape = (
        "board",
        access.visibility_shape(user),
        product_id,
        team_id,
        ACTIVE_SHOWN,
        RESOLVED_SHOWN,
        _last_update,
    )

    def compile_() -> tuple[Statement, Statement] | None:
        visible = access.shared_incidents(user)
        active, resolved = _queries(visible, product_id, team_id, _SENTINEL)
        try:
            return _compile(active, user, cutoffs=0), _compile(resolved, user, cutoffs=1)
        except EmptyResultSet:  # someone who may see no incident
            return None

    return compiled(shape, compile_)


def _compile(
    queryset: QuerySet[Incident], user: User | AnonymousUser, *, cutoffs: int
) -> Statement:
    # Prepared where the database can, its constants written in but the cutoff and the
    # viewer's id: one statement for everyone of the same permissions and filters
    # (psycopg keeps 100 a connection, and keys them by the parameters' types too: ids
    # past 32767 bind as a wider integer). The active list must not depend on the time
    # (it is read at any time), the resolved list once.
    return access.compile_shared(
        queryset, user, sentinels=[_cutoff_param(_SENTINEL)], counts=[cutoffs]
    )


def _cutoff_param(now: datetime) -> Any:
    # The resolved list's cutoff as the database adapter is given it.
    field = Incident._meta.get_field("impact_ended_at")
    return field.get_db_prep_value(now - RECENTLY_RESOLVED, connection)


def _run(
    statements: Sequence[Statement], now: datetime, viewer: int | None
) -> list[list[Sequence[Any]]]:
    """Each statement's rows for ``viewer``, their values in the order of its ``names``:
    in one round trip and prepared where the database can
    (``config.statements.fetch``)."""
    cutoff = _cutoff_param(now)
    return fetch([(statement, statement.params_for(cutoff, viewer)) for statement in statements])


def _picks(statement: Statement, *names: str) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """What takes the values of ``names`` (two or more), in that order, from a row of
    ``statement``."""
    return itemgetter(*[statement.names.index(name) for name in names])


def board(
    user: User | AnonymousUser,
    *,
    product_id: int | None = None,
    team_id: int | None = None,
    now: datetime | None = None,
    choices: Catalogue | None = None,
) -> Board:
    """What the dashboard shows, in two queries whatever the number of incidents:
    the active ones (with their products, cases and last public update), and the
    recently resolved ones.

    Visibility is the query's (``visible_to``): a restricted incident is never read for
    someone who may not see it, so the board's cached HTML can be shared."""
    now = now or timezone.now()
    new_since = now - NEW_FOR
    statements = _statements(user, product_id, team_id)
    if statements is None:  # someone who may see no incident
        return Board([], 0, [], _last_update is not None, new_since)
    active_statement, resolved_statement = statements
    active, resolved = _run(statements, now, user.pk)
    shown = _picks(active_statement, *SHOWN_FIELDS)
    extra = _picks(active_statement, "assignee_name", "product_ids", "active_total")
    last_update_at = active_statement.names.index("last_update_at") if _last_update else None
    names = _product_names([extra(values)[1] for values in active], choices)
    # Rows share their few sets of products: each named once.
    named: dict[str | None, tuple[str, ...]] = {}
    rows = []
    for values in active:
        fields = shown(values)
        assignee_name, product_ids, _total = extra(values)
        products = named.get(product_ids)
        if products is None:
            products = named[product_ids] = _named(product_ids, names)
        rows.append(
            Row._make(
                (
                    *fields,
                    assignee_name,
                    products,
                    values[last_update_at] if last_update_at is not None else None,
                    fields[_SEVERITY] <= 2 and fields[_CREATED_AT] >= new_since,
                )
            )
        )
    resolved_shown = _picks(resolved_statement, *SHOWN_FIELDS)
    return Board(
        active=rows,
        active_total=extra(active[0])[2] if active else 0,
        resolved=[Row(*resolved_shown(values)) for values in resolved],
        updates_known=_last_update is not None,
        new_since=new_since,
    )
