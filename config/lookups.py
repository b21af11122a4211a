"""``field__in_array=values``: ``IN``, with the values as one array parameter on
PostgreSQL (``= ANY(%s)``).

A thousand values given to ``__in`` are a thousand placeholders, and psycopg parses
a statement that long afresh on every execution (it caches short ones only): about a
tenth of labelling a thousand support cases. As one array the statement stays short
and the values travel as one parameter. Elsewhere it is Django's ``IN``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import Field
from django.db.models.lookups import In


@Field.register_lookup
class InArray(In):
    lookup_name = "in_array"

    def as_postgresql(self, compiler: Any, connection: Any) -> Any:
        if not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = list(
            dict.fromkeys(
                field.get_db_prep_value(value, connection, prepared=True)
                for value in self.rhs
                if value is not None
            )
        )
        if not values:
            raise EmptyResultSet
        return f"{lhs} = ANY(%s)", (*lhs_params, values)
