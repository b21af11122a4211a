"""Querysets compiled once and run again with new values, several in one round trip.

Building and compiling a queryset costs the ORM far more than running a small indexed
query (the support board's: ten times as much; a person's permissions: most of the
1.7 ms their read took on PostgreSQL). A page's hot reads are compiled once per thread
(``compiled``) with stand-in values (``compile_query``'s ``sentinels``), whose places then
take each run's values (``Statement.params_for``), and those a page needs together are
sent at once (``fetch``): in one round trip and prepared (parsed and planned once per
connection) on PostgreSQL (``config.postgresql``), one after another elsewhere.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple, TypeVar, cast

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, NotSupportedError, connection, connections
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler


class Statement(NamedTuple):
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    # For each sentinel, in order, the parameters a run's value replaces.
    places: tuple[tuple[int, ...], ...]
    # The columns, in the order of the rows' values.
    names: list[str]
    # The database's converters of its columns (SQLite's: times, booleans).
    converters: dict[int, Any]
    # Whether converted rows are kept (``converted``): not for rows seldom read twice.
    remember: bool = True

    def params_for(self, *values: Any) -> list[Any]:
        """The parameters with each sentinel's places taken by ``values``, in order (as
        the database adapter is given them)."""
        params = list(self.params)
        for places, value in zip(self.places, values, strict=True):
            for place in places:
                params[place] = value
        return params

    def converted(self, rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        """The values as the ORM gives them (SQLite's times made aware, its booleans). A
        row read before is converted once, kept per thread by the statement's SQL, the
        zone and the values read: after a change the support board reads the same rows
        but one, and on SQLite converting its 100 rows took 0.43 of its 1.45 ms."""
        if not self.converters:
            return list(rows)
        if not self.remember:
            return list(map(tuple, self.compiler.apply_converters(rows, self.converters)))
        kept: dict[tuple[str, Any, Sequence[Any]], Sequence[Any]]
        kept = _threads.__dict__.setdefault("converted", {})
        if len(kept) > CONVERTED_KEPT:
            kept.clear()
        # The zone the converters make times aware in is the connection's (read once:
        # each read goes through the thread-local proxy).
        zone = connection.timezone
        keys = [(self.sql, zone, row) for row in rows]
        if missing := [key for key in keys if key not in kept]:
            converted = self.compiler.apply_converters(
                [row for _sql, _zone, row in missing], self.converters
            )
            kept.update(zip(missing, map(tuple, converted), strict=True))
        return [kept[key] for key in keys]


def compile_query(
    queryset: QuerySet[Any],
    *,
    sentinels: Sequence[Any] = (),
    counts: Sequence[int | None] | None = None,
    remember: bool = True,
) -> Statement:
    """``queryset`` compiled for this thread's connection to the default database (the
    only one the portal has). ``sentinels``: values compiled in place of those each run
    gives (as the database adapter is given them), found among the parameters by value
    (``_is``): each at least once, or as ``counts`` says: exactly so often (0: a check
    that the query does not use it), or at least once where None. Where the database
    prepares statements, the other parameters are written in, so the database plans
    them with the values in view and one statement serves every run. ``remember``:
    whether its converted rows are kept (``Statement.converted``)."""
    # The thread's own connection, not the proxy ``django.db.connection``: the compiler
    # asks it hundreds of things, each a thread-local lookup through the proxy (a sixth
    # of compiling the board's statements).
    database = connections[DEFAULT_DB_ALIAS]
    compiler = queryset.query.get_compiler(connection=database)
    sql, params = compiler.as_sql()
    places = [tuple(i for i, p in enumerate(params) if _is(p, sentinel)) for sentinel in sentinels]
    found = [len(each) for each in places]
    wanted = counts if counts is not None else [None] * len(sentinels)
    if len(wanted) != len(sentinels):
        raise ImproperlyConfigured(f"{len(wanted)} counts for {len(sentinels)} sentinels")
    if any(got != n if n is not None else not got for n, got in zip(wanted, found, strict=True)):
        raise ImproperlyConfigured(f"Sentinels {sentinels} found {found} times in {sql}")
    if len({place for each in places for place in each}) != sum(found):
        raise ImproperlyConfigured(f"Sentinels {sentinels} share a parameter of {sql}")
    if (inline := getattr(database, "inline_params", None)) is not None:
        left = {place for each in places for place in each}
        sql, params = inline(sql, params, keep=left)
        order = sorted(left)
        places = [tuple(order.index(place) for place in each) for each in places]
    query = queryset.query
    return Statement(
        compiler,
        sql,
        tuple(params),
        tuple(places),
        [*query.extra_select, *query.values_select, *query.annotation_select],
        # As ``results_iter`` finds them.
        compiler.get_converters([column for column, *_ in compiler.select[: compiler.col_count]]),
        remember,
    )


def _kind(value: Any) -> type:
    return bool if isinstance(value, bool) else float if isinstance(value, float) else object


def _is(param: Any, sentinel: Any) -> bool:
    # By value (psycopg's Int2 is an int), but never a boolean or a float for an
    # integer, which Python finds equal (True == 1 == 1.0).
    return bool(param == sentinel) and _kind(param) is _kind(sentinel)


# Each thread's compiled statements (a statement holds its thread's connection) and
# converted rows.
_threads = threading.local()
# Past this many a thread's statements are compiled again.
KEPT = 256
# Rows converted and kept by each thread (a few MB), past which they are dropped.
CONVERTED_KEPT = 2000
T = TypeVar("T")


def compiled(key: Hashable, compile_: Callable[[], T]) -> T:
    """What ``compile_`` gives (statements, or None where a query can have no rows),
    once per thread and ``key``."""
    statements: dict[Hashable, Any] = _threads.__dict__.setdefault("statements", {})
    if key in statements:
        return cast(T, statements[key])
    if len(statements) >= KEPT:
        statements.clear()
    statement = statements[key] = compile_()
    return statement


def forget() -> None:
    """Drop this thread's compiled statements and converted rows (a process just started
    has none)."""
    _threads.__dict__.clear()


Run = tuple[Statement, Sequence[Any]]


def fetch(runs: Sequence[Run], *, prepare: bool = True) -> list[list[Sequence[Any]]]:
    """The rows of each statement run with its parameters, as the ORM gives them
    (``Statement.converted``): in one round trip and, with ``prepare``, prepared where
    the database can (``round_trip`` and ``prepared_cursor``, PostgreSQL's)."""
    try:
        fetched = _fetch(runs, prepare)
    except NotSupportedError as error:
        # Prepared before a migration changed a column they read: prepared again.
        if not getattr(connection, "recover_prepared", lambda _error: False)(error):
            raise
        fetched = _fetch(runs, prepare)
    return [statement.converted(rows) for (statement, _), rows in zip(runs, fetched, strict=True)]


def fetch_named(wanted: dict[str, list[Run]]) -> dict[str, list[list[Sequence[Any]]]]:
    """``fetch`` for reads a page makes together: each name's rows, by name."""
    fetched = iter(fetch([run for runs in wanted.values() for run in runs]) if wanted else [])
    return {name: [next(fetched) for _ in runs] for name, runs in wanted.items()}


def _fetch(runs: Sequence[Run], prepare: bool) -> list[list[Sequence[Any]]]:
    together = getattr(connection, "round_trip", contextlib.nullcontext)
    cursor_for = getattr(connection, "prepared_cursor", None) if prepare else None
    with contextlib.ExitStack() as cursors:
        opened = [cursors.enter_context((cursor_for or connection.cursor)()) for _ in runs]
        with together():
            for cursor, (statement, params) in zip(opened, runs, strict=True):
                cursor.execute(statement.sql, params)
        return [cursor.fetchall() for cursor in opened]
