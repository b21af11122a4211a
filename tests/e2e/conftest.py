"""The end-to-end stack, started once per session when ``E2E=1``.

PostgreSQL database ``e2e_hotline`` (dropped and created here, dropped at the end unless
``E2E_KEEP_DB=1``), a Redis server of our own on a free port, ``manage.py migrate`` and
``collectstatic``, gunicorn, one Celery worker and two Celery beats, an SMTP receiver
and a webhook receiver. Every process is stopped at teardown, whatever happened. Logs
stay in ``var/e2e/<time>/logs`` (the last few runs are kept; ``E2E_DIR`` chooses
another place), and their tails are attached to every failing e2e test's report.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import harness

E2E = os.environ.get("E2E") == "1"
SKIP_REASON = (
    "end-to-end layer: set E2E=1 to start gunicorn, a Celery worker, two beats, a Redis "
    "of its own and PostgreSQL database e2e_hotline (127.0.0.1:5432)"
)

_state: dict[str, Any] = {"stack": None, "figures": harness.Figures()}


@pytest.fixture(scope="session")
def figures() -> harness.Figures:
    return _state["figures"]


@pytest.fixture(scope="session")
def e2e_stack() -> Iterator[harness.Stack]:
    # With E2E=1 a missing piece is a failure: CI asked for this layer.
    missing = harness.prerequisites()
    if missing:
        pytest.fail("E2E=1 but the end-to-end stack cannot run: " + "; ".join(missing), False)
    root = harness.run_dir()
    with harness.SmtpReceiver() as smtp, harness.WebhookReceiver() as hooks:
        stack = harness.Stack(root, smtp_port=smtp.port)
        stack.smtp, stack.hooks = smtp, hooks  # type: ignore[attr-defined]
        _state["stack"] = stack
        try:
            harness.recreate_database()
            stack.database_created = True
            stack.start_redis()
            stack.prepare_database()
            stack.start_all()
        except harness.StackError as error:
            stack.stop()
            pytest.fail(f"the end-to-end stack did not start: {error}\n{stack.report()}", False)
        try:
            yield stack
        finally:
            stack.stop()
            if os.environ.get("E2E_KEEP_DB") != "1":
                harness.drop_database()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    stack = _state["stack"]
    if report.failed and stack is not None:
        report.sections.append(("e2e process logs (tails)", stack.report(lines=40)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = _state["figures"].lines
    if lines:
        terminalreporter.section("e2e figures")
        for line in lines:
            terminalreporter.write_line(line)
        stack = _state["stack"]
        if stack is not None:
            terminalreporter.write_line(f"process logs: {stack.logs}")
