"""Receiving alerts, de-duplicating them into groups and incidents, and managing
integrations. Incidents are created and changed only through ``incidents.actions``, by
the "alerts" system user, so the on-call subscribers page for severity 1-2 as for any
incident.

Receiving is cheap and takes no lock: the request stores one ``pending`` Alert row with
the parsed event (``event``) and wakes the worker once per burst (``receiving.wake_worker``).
The worker applies pending alerts in arrival order, one integration at a time under a
lock on its row, in short batches (``process_pending``): a storm of duplicates costs the
requests one INSERT each, and the worker a few queries per batch. The rows are the
obligation (DESIGN rule 1): a lost wake-up only delays them until the beat's sweep.

Resolve flow: when the last firing group of an incident the alerts opened resolves, the
impact end is recorded and a note asks the incident manager to resolve. We never resolve
an incident ourselves, claimed or not: an unclaimed incident whose alerts cleared may
still need a human to confirm the impact is over (flapping alerts, partial recovery).

The package, by concern: ``receiving`` (the request: storing a delivery, waking the
worker; it alone holds the per-process wake-up state), ``processing`` (the worker:
applying pending alerts in batches) and ``managing`` (creating, rotating, pausing,
testing and pruning integrations). Callers use the public functions from here:
``actions.receive(...)``, ``actions.process_pending(...)``.
"""

from .changes import record_change
from .managing import create_integration, prune, rotate_key, send_test_alert, set_paused
from .processing import process_pending
from .receiving import receive, reject
from .storms import end_quiet_storms, set_storm_threshold

__all__ = [
    "create_integration",
    "end_quiet_storms",
    "process_pending",
    "prune",
    "receive",
    "record_change",
    "reject",
    "rotate_key",
    "send_test_alert",
    "set_paused",
    "set_storm_threshold",
]
