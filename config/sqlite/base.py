"""Django's SQLite backend, making the times it reads aware in one step.

sqlite3 already parses a timestamp column into a naive datetime (Django registers the
parser); Django's converter then reads the USE_TZ setting and checks the value's offset
and the zone for each value, through three calls. The support board reads 500 of them
a page (100 rows of five times); the converter here gives the same aware datetime.
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
