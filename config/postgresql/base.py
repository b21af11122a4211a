"""Django's PostgreSQL backend, reading timestamps with psycopg's C loader, sending
several statements in one round trip where a page needs them all, and preparing (and
planning once) the statements a hot page asks to have prepared.

Django registers a Python subclass of psycopg's ``timestamptz`` loader (to attach the
connection's time zone), which parses every timestamp in Python: a third of the
support board's query time, 100 rows of five timestamps, was that parsing (2.4 ms
against 1.6 ms with the C loader, measured on bench/support.py's data). psycopg's own
loader attaches the session's time zone, which Django sets to the connection's with
``USE_TZ``, so the values are the same datetimes (without it Django's are naive).

Registered per cursor, after Django's own: Django reads the time zone of the
connection's loader to decide whether a cursor needs one of its own.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base, operations
from psycopg.pq import Format

TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid
# The C implementation when psycopg's binary package is installed (a dependency),
# else psycopg's Python one, which is still one call less than Django's.
FAST_LOADER = psycopg.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
# psycopg prepares a statement once it has run this many times on a connection; no
# statement gets there, so only those run through ``prepared_cursor`` are prepared.
ONLY_WHEN_ASKED = 2**62
PLANNED_ONCE = "-c plan_cache_mode=force_generic_plan"
# A parameter's place in Django's SQL, or a percent sign written as two.
_PLACE = re.compile(r"%[s%]")


class PreparedCursor(base.ServerBindingCursor):  # type: ignore[name-defined]  # not in the stubs
    """Binds parameters on the server and prepares every statement it executes: the
    next execution on the same connection is neither parsed nor planned again."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = True, **kw: Any
    ) -> Any:
        return super().execute(query, params, prepare=prepare, **kw)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> Any:
        # psycopg keeps no text of a prepared statement's execution: Django's own way
        # for cursors binding on the server, its parameters written in.
        if isinstance(cursor, PreparedCursor):
            try:
                return self.compose_sql(sql, params)
            except psycopg.errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        # Django turns prepared statements off for every statement (``None``), which
        # also ignores psycopg's ``prepare=True``. A setting's own value still wins:
        # ``None`` behind a pooler in transaction mode without prepared-statement
        # support (PgBouncer before 1.21, or without max_prepared_statements).
        params = super().get_connection_params()
        if "prepare_threshold" not in self.settings_dict["OPTIONS"]:
            params["prepare_threshold"] = ONLY_WHEN_ASKED
            # A prepared statement is planned once, for every value of its parameters
            # (PostgreSQL's default plans it again for each value, as long as that
            # looks cheaper): statements whose plan depends on a value write it in
            # (``inline_params``). Only prepared statements use the plan cache.
            params["options"] = f"{params.get('options', '')} {PLANNED_ONCE}".strip()
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        return self._fast_timestamps(super().create_cursor(name))

    def _fast_timestamps(self, cursor: Any) -> Any:
        if settings.USE_TZ:
            cursor.adapters.register_loader(TIMESTAMPTZ, FAST_LOADER)
        return cursor

    def prepared_cursor(self) -> Any:
        """A cursor whose statements are prepared on this connection, for a page's
        few statements run on every request. The support board's two spent 0.55 ms
        of their 1.1 ms in the database planning; prepared with their constants
        written in, the page before its re-render took 1.0 ms less (4.87 against
        5.89 ms, medians of 8 alternated rounds on bench/support.py's data). Django
        logs and counts their statements as any cursor's."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(  # type: ignore[attr-defined]  # not in the stubs
                self._fast_timestamps(PreparedCursor(self.connection))
            )

    def inline_params(
        self, sql: str, params: Sequence[Any], *, keep: Collection[int] = ()
    ) -> tuple[str, list[Any]]:
        """``sql`` with its parameters written in as the literals Django's client-side
        binding sends, but those at the indexes in ``keep``, which stay parameters
        (returned in order). For a prepared statement: planned with its other values in
        view, PostgreSQL uses one plan for every execution instead of planning each."""
        values = iter(enumerate(params))

        def put(place: re.Match[str]) -> str:
            if place.group() == "%%":
                return "%%"
            index, value = next(values)
            if index in keep:
                return "%s"
            # The statement runs with parameters: a percent sign in a literal is doubled.
            return self.ops.compose_sql("%s", [value]).replace("%", "%%")

        return _PLACE.sub(put, sql), [params[index] for index in sorted(keep)]

    @contextlib.contextmanager
    def round_trip(self) -> Iterator[None]:
        """The statements executed inside are sent at once and their results read in
        one round trip (psycopg's pipeline mode); fetch them after the block. The
        support board's two queries took 0.3 ms less (2.0 against 1.7 ms, measured on
        bench/support.py's data). Django's cursors still log and wrap each statement."""
        self.ensure_connection()
        with self.wrap_database_errors, self.connection.pipeline():
            yield
