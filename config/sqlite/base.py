"""Django's SQLite backend, reading times as text and making them aware in one step.

Django has sqlite3 parse every column declared a timestamp (and booleans, dates) as the
rows are fetched, then its converters check each value again. Here sqlite3 hands over
the stored text and the ORM's converters parse it, once: the compiled statements
(``config.statements``) convert a row they have converted before not at all, which
sqlite3's own parsing, before they see the row, made impossible (the board's 100 rows,
five times each, after every change: the first page after a change 3.11x / 3.37x ->
2.95x / 3.08x in alternated bench runs). A raw cursor's read gets the stored text and
integers here, where PostgreSQL gives typed values: read through the ORM or
``config.statements``, which apply the converters.

Django's converter reads the USE_TZ setting and checks the value's offset and the zone
for each value, through three calls; the one here gives the same aware datetime.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.backends.sqlite3 import base, operations
from django.utils.dateparse import parse_datetime


class DatabaseOperations(operations.DatabaseOperations):
    def convert_datetimefield_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            value = parse_datetime(value)
        if value is not None and value.tzinfo is None:
            # ``make_aware``'s own step; the zone is None without USE_TZ: still naive.
            return value.replace(tzinfo=self.connection.timezone)
        # Aware already, or text that is no time (None, as Django's without USE_TZ).
        return value


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        # No sqlite3 converters, whatever OPTIONS say: the ORM's (above and Django's)
        # take text.
        return {**super().get_connection_params(), "detect_types": 0}
