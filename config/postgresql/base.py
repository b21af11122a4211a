"""Django's PostgreSQL backend, reading timestamps with psycopg's C loader, sending
several statements in one round trip where a page needs them all, and preparing the
statements a hot page asks to have prepared.

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
from django.utils.asyncio import async_unsafe
from psycopg.pq import Format

TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid
# The C implementation when psycopg's binary package is installed (a dependency),
# else psycopg's Python one, which is still one call less than Django's.
FAST_LOADER = psycopg.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
# psycopg prepares a statement once it has run this many times on a connection; no
# statement gets there, so only those run through ``prepared_cursor`` are prepared.
# What a threshold (any but None) costs: psycopg counts the executions of the last 100
# distinct statements per connection, and once one is prepared, a rollback also drops
# them on the server (DEALLOCATE ALL, a round trip more).
ONLY_WHEN_ASKED = 2**62
FEATURE_NOT_SUPPORTED = "0A000"
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
        # support (DATABASE_PREPARED_STATEMENTS=false in config/settings.py).
        params = super().get_connection_params()
        if "prepare_threshold" not in self.settings_dict["OPTIONS"]:
            params["prepare_threshold"] = ONLY_WHEN_ASKED
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        return self._fast_timestamps(super().create_cursor(name))

    def _fast_timestamps(self, cursor: Any) -> Any:
        if settings.USE_TZ:
            cursor.adapters.register_loader(TIMESTAMPTZ, FAST_LOADER)
        return cursor

    @async_unsafe
    def prepared_cursor(self) -> Any:
        """A cursor whose statements are prepared on this connection, for a page's
        few statements run on every request: parsed once, and planned once where
        PostgreSQL finds one plan fits every value of the parameters (its default
        ``plan_cache_mode``; a statement with no parameters, always). Values that
        decide the plan are best written in (``inline_params``). Django logs and
        counts their statements as any cursor's."""
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
        (returned in order). For a prepared statement: PostgreSQL plans it with the
        written-in values in view, and one left without parameters only once."""
        values = iter(enumerate(params))

        def put(place: re.Match[str]) -> str:
            if place.group() == "%%":
                return "%%"
            index, value = next(values)
            if index in keep:
                return "%s"
            # The statement runs with parameters: a percent sign in a literal is doubled.
            return self.ops.compose_sql("%s", [value]).replace("%", "%%")

        if (places := _PLACE.findall(sql).count("%s")) != len(params):
            raise ValueError(f"{len(params)} parameters for {places} places: {sql}")
        return _PLACE.sub(put, sql), [params[index] for index in sorted(keep)]

    def recover_prepared(self, error: Exception) -> bool:
        """Whether ``error`` may be PostgreSQL refusing a statement this connection
        prepared before a migration changed the type of a column it reads ("cached plan
        must not change result type", SQLSTATE 0A000) and the connection is now closed,
        so the next execution prepares it again on a new one. Not inside a transaction,
        which the error has aborted: its rollback drops the prepared statements."""
        if (
            getattr(error.__cause__, "sqlstate", None) != FEATURE_NOT_SUPPORTED
            or self.settings_dict["OPTIONS"].get("prepare_threshold", True) is None
            or self.in_atomic_block
            or not self.get_autocommit()
        ):
            return False
        # Not DEALLOCATE ALL: psycopg before 3.3 does not read it and would go on
        # executing the statements it prepared.
        self.close()
        return True

    @contextlib.contextmanager
    def round_trip(self) -> Iterator[None]:
        """The statements executed inside are sent at once and their results read in
        one round trip (psycopg's pipeline mode); fetch them after the block. The
        support board's two queries took 0.3 ms less (2.0 against 1.7 ms, measured on
        bench/support.py's data). Django's cursors still log and wrap each statement."""
        self.ensure_connection()
        with self.wrap_database_errors, self.connection.pipeline():
            yield
