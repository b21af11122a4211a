"""Work run once a transaction commits (config/transactions.py), with real commits and
savepoints: once per transaction however often it is asked for, and never lost with a
savepoint rolled back while it was also asked for outside it."""

from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.transactions import on_commit_once
from incidents.support import actions as support_actions
from incidents.support import dashboard
from incidents.support.models import SupportCase
from tests.factories import make_incident

pytestmark = pytest.mark.django_db(transaction=True)


class RolledBack(Exception):
    pass


@dataclass(frozen=True)
class Block:
    """A nested ``atomic()`` holding calls (None) and blocks, rolled back or not."""

    rolled_back: bool
    items: tuple["Block | None", ...]


ROLLED_BACK_CALL = Block(rolled_back=True, items=(None,))

blocks = st.recursive(
    st.tuples(st.booleans(), st.lists(st.none(), max_size=3)).map(
        lambda pair: Block(pair[0], tuple(pair[1]))
    ),
    lambda inner: st.tuples(st.booleans(), st.lists(inner | st.none(), max_size=4)).map(
        lambda pair: Block(pair[0], tuple(pair[1]))
    ),
    max_leaves=12,
)


def _run(items, call) -> None:
    for item in items:
        if item is None:
            call()
            continue
        try:
            with transaction.atomic():
                _run(item.items, call)
                if item.rolled_back:
                    raise RolledBack
        except RolledBack:
            pass


def _surviving_calls(items) -> int:
    """The calls whose savepoints all committed: each would have run on its own."""
    return sum(
        1 if item is None else 0 if item.rolled_back else _surviving_calls(item.items)
        for item in items
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(blocks | st.none(), max_size=5))
def test_it_runs_if_and_only_if_a_call_survives_and_at_most_as_often(items):
    ran = []

    def callback() -> None:
        ran.append(1)

    with transaction.atomic():
        _run(items, lambda: on_commit_once(callback))
        assert not ran  # nothing before the commit

    surviving = _surviving_calls(items)
    assert (len(ran) >= 1) == (surviving >= 1)
    assert len(ran) <= surviving


def test_many_calls_in_one_block_run_once():
    ran = []

    def callback() -> None:
        ran.append(1)

    with transaction.atomic():
        for _ in range(5):
            on_commit_once(callback)
    assert ran == [1]
    with transaction.atomic():
        on_commit_once(callback)
    assert ran == [1, 1]  # each transaction runs it


def test_a_call_inside_a_rolled_back_savepoint_leaves_the_outer_one():
    ran = []

    def callback() -> None:
        ran.append(1)

    with transaction.atomic():
        on_commit_once(callback)
        _run([ROLLED_BACK_CALL], lambda: on_commit_once(callback))
    assert ran == [1]


def test_a_rolled_back_transaction_runs_nothing_and_outside_one_it_runs_at_once():
    ran = []

    def callback() -> None:
        ran.append(1)

    _run([ROLLED_BACK_CALL], lambda: on_commit_once(callback))  # the whole transaction
    assert ran == []
    on_commit_once(callback)
    on_commit_once(callback)
    assert ran == [1, 1]


def test_labelling_that_moves_cases_moves_the_board_marker_once(support, manager, monkeypatch):
    """Labelling writes an entry on two incidents and touches both: four changes, one
    move of the marker (and one read of the restricted incidents) after the commit."""
    first = make_incident(by=manager, summary="First")
    second = make_incident(by=manager, summary="Second")
    SupportCase.objects.bulk_create([SupportCase(reference=f"SD-{n}", label=first) for n in (1, 2)])
    before = dashboard.change_marker()
    moves = []
    bump = dashboard.bump_marker

    def counted() -> None:
        moves.append(transaction.get_connection().in_atomic_block)
        bump()

    monkeypatch.setattr(dashboard, "bump_marker", counted)

    result = support_actions.label_cases(
        key=second.key, references=["SD-1", "SD-2"], by=support, move=True
    )

    assert result.moved == ["SD-1", "SD-2"]
    assert moves == [False]  # once, after the commit
    assert dashboard.change_marker() != before
