"""Work run once the current transaction commits."""

from collections.abc import Callable

from django.db import transaction


def on_commit_once(func: Callable[[], None]) -> None:
    """``transaction.on_commit(func, robust=True)``, unless ``func`` already waits for
    this transaction's commit and will run whenever this call's would: an action that
    changes an incident several times (an entry, a touch, the cases) runs it once.

    "Whenever this call's would": registered under savepoints that are all still open
    here, so no rollback can drop that one and keep this one. (Django drops a callback
    with its savepoint's rollback; one from a savepoint since released is registered
    again, at worst running twice, never not at all.) ``robust``: the change is
    committed whatever the callback meets (a cache or broker outage).

    In a test wrapped in a transaction (``django_db`` without ``transaction=True``)
    nothing commits, so a call made at the test's own level stands for every later one
    in that test, and ``django_capture_on_commit_callbacks`` sees none of them: make the
    change inside the capture too, or mark the test transactional."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        open_savepoints = set(connection.savepoint_ids)
        for savepoints, waiting, _ in connection.run_on_commit:
            if waiting is func and savepoints <= open_savepoints:
                return
    transaction.on_commit(func, robust=True)
