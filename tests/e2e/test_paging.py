"""Paging and escalation end to end: gunicorn, a Celery worker, two beats, PostgreSQL and
a Redis of our own, driven over HTTP, with real SMTP and webhook receivers.

Escalation steps wait whole minutes, so the scenarios run at once on one stack, as a
campaign in a background thread; each test waits for its scenario's verdict. The order:

1. (e) an incident's page is held by the webhook receiver, the worker is SIGKILLed
   (its whole process group) in the middle of that request and a new worker started;
   the re-send is awaited in the background.
2. (a), (b), (c), (g) and the incident of (d) are logged together: (a) acknowledges
   by the e-mailed link, (b) by the API, (c) claims, (g) lets three 1-minute steps fire
   and measures each one's lateness.
3. (d) once (g) is done: Redis is SIGKILLed with pages in flight and an escalation step
   falling due during the outage, then restarted empty on the same port. A worker or
   beat that died in the outage is a failure, and is started again (as a supervisor
   would) to see whether any page was lost.
4. (f) two beats ran the whole time, their ticks together: no step may fire twice.

Figures are printed in the "e2e figures" section of the terminal summary.
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.conftest import E2E, SKIP_REASON

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not E2E, reason=SKIP_REASON)]

STEP_SECONDS = 60  # EscalationStep.wait_minutes = 1, the shortest step there is
LATE_GOAL = 15.0  # a step reaches its person at most this long after it was planned
RESEND_GOAL = 15.0  # a page caught in a killed worker is re-sent within this
GROWTH_LIMIT = 5.0  # lateness spread across steps: it must not build up step by step
D_STEP_MINUTES = 4  # (d)'s step falls due during the Redis outage, after (g) is over
OUTAGE_SECONDS = 15.0
CAMPAIGN_TIMEOUT = 900.0

# Who is paged how: a webhook at /hook/<name> (or /hold/<name>), "" for the account's
# e-mail address (the page then goes out over SMTP).
TEAMS: dict[str, list[tuple[str, int]]] = {
    # team letter: escalation steps (person, wait minutes); no steps: no policy
    "a": [("a-step1", 1)],
    "b": [("b-step1", 1)],
    "c": [("c-step1", 1)],
    "g": [("g-step1", 1), ("g-step2", 1), ("g-step3", 1)],
    "d": [("d-step1", D_STEP_MINUTES)],
    "e": [],
}

SETUP = r"""
import json
from datetime import date
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from incidents.models import Service, Team
from oncall.models import ContactMethod, EscalationPolicy, EscalationStep, Roster

spec = json.loads(SPEC)
managers = Group.objects.get(name="incident manager")
tokens = {}

def person(name):
    user = User.objects.create_user(name, email=f"{name}@e2e.test", password=spec["password"])
    user.groups.add(managers)
    tokens[name] = Token.objects.create(user=user).key
    if spec["hooks"].get(name):
        ContactMethod.objects.create(user=user, kind="webhook", target=spec["hooks"][name])
    return user

person("reporter")
User.objects.get(username="reporter").groups.add(Group.objects.get(name="admin"))
rosters = {}
for letter, steps in spec["teams"].items():
    slug = f"e2e-{letter}"
    team = Team.objects.create(name=f"E2E {letter}", slug=slug, email=f"{slug}@e2e.test")
    oncall = person(f"{letter}-oncall")
    team.members.add(oncall)
    Service.objects.create(name=f"E2E {letter} service", slug=f"{slug}-svc", team=team)
    roster = Roster.objects.create(
        team=team, name=f"E2E {letter} IM", slug=f"{slug}-im", shift_unit="weeks",
        start_date=date(2020, 1, 6),
    )
    rosters[roster.slug] = [oncall.username]
    if steps:
        policy = EscalationPolicy.objects.create(team=team, repeat=0)
        for position, (name, wait) in enumerate(steps):
            EscalationStep.objects.create(
                policy=policy, position=position, wait_minutes=wait, user=person(name)
            )
rosters["imoc"] = [person("imoc-oncall").username]
print(json.dumps({"tokens": tokens, "rosters": rosters}))
"""

SNAPSHOT = r"""
import json
from oncall.models import Escalation, Page, PagingEvent

keys = json.loads(KEYS)
iso = lambda value: value.isoformat() if value else None
escalations = {
    e.incident.key: {
        "state": e.state, "fired": e.fired, "started_at": iso(e.started_at),
        "next_escalation_at": iso(e.next_escalation_at),
    }
    for e in Escalation.objects.filter(incident__key__in=keys).select_related("incident")
}
pages = [
    {
        "id": p.pk, "key": p.incident.key, "user": p.user.username if p.user else p.address,
        "reason": p.reason, "state": p.state, "created_at": iso(p.created_at),
        "sent_at": iso(p.sent_at), "idempotency_key": str(p.idempotency_key),
        "attempt_count": p.attempt_count,
        "attempts": [[a.ok, iso(a.started_at), a.result] for a in p.attempts.all()],
    }
    for p in Page.objects.filter(incident__key__in=keys)
    .select_related("incident", "user").prefetch_related("attempts").order_by("pk")
]
events = [
    [e.incident.key, e.kind, e.text, iso(e.at)]
    for e in PagingEvent.objects.filter(incident__key__in=keys).select_related("incident")
]
print(json.dumps({"escalations": escalations, "pages": pages, "events": events}))
"""


def ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


@dataclass
class Outcome:
    """A scenario's verdict: what failed, what was measured, or the error that stopped it."""

    name: str
    figures: harness.Figures
    done: threading.Event = field(default_factory=threading.Event)
    failures: list[str] = field(default_factory=list)
    measured: list[str] = field(default_factory=list)
    error: str | None = None

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.failures.append(message)
        return ok

    def figure(self, text: str) -> None:
        self.measured.append(text)
        self.figures.add(self.name, text)


class Campaign:
    def __init__(self, stack: harness.Stack, figures: harness.Figures) -> None:
        self.stack = stack
        self.hooks: harness.WebhookReceiver = stack.hooks  # type: ignore[attr-defined]
        self.smtp: harness.SmtpReceiver = stack.smtp  # type: ignore[attr-defined]
        self.figures = figures
        self.outcomes = {name: Outcome(name, figures) for name in "abcdefg"}
        self.keys: dict[str, list[str]] = defaultdict(list)
        self.thread = threading.Thread(target=self._run, name="e2e-campaign", daemon=True)

    # -- plumbing ------------------------------------------------------------------------

    def setup(self) -> None:
        hooks = {}
        for letter, steps in TEAMS.items():
            hooks[f"{letter}-oncall"] = f"{self.hooks.url}/hook/{letter}-oncall"
            for name, _ in steps:
                hooks[name] = f"{self.hooks.url}/hook/{name}"
        hooks["a-oncall"] = ""  # (a) is paged by e-mail, its account's address
        hooks["e-oncall"] = f"{self.hooks.url}/hold/e-oncall"
        hooks["imoc-oncall"] = f"{self.hooks.url}/hook/imoc-oncall"
        spec = {"password": harness.PASSWORD, "hooks": hooks, "teams": TEAMS}
        found = self.stack.shell(f"SPEC = {json.dumps(json.dumps(spec))}\n{SETUP}")
        self.tokens: dict[str, str] = found["tokens"]
        # Who takes turns is set as an admin sets it, through the API (the reporter is
        # in the admin group too).
        for slug, people in found["rosters"].items():
            answer = self.api("reporter").request(
                "PUT",
                f"/api/oncall/rosters/{slug}/participants/",
                json_body={"participants": people},
            )
            assert answer.status == 200, f"participants of {slug}: {answer.status} {answer.text}"
            now = answer.json().get("on_call_now") or {}
            assert now.get("user") == people[0], f"{slug}: on call now is {now}, not {people[0]}"

    def api(self, user: str) -> harness.Client:
        return harness.Client(self.stack.site_url, token=self.tokens[user])

    def create_incident(self, letter: str, label: str = "") -> tuple[str, float]:
        """Log a severity 1 incident through the API; its key and when it was logged."""
        started = time.time()
        answer = self.api("reporter").post(
            "/api/incidents/",
            json_body={
                "summary": f"E2E {letter}{label}: checkout down",
                "description": "Logged by the end-to-end layer.",
                "severity": 1,
                "faulty_service": f"e2e-{letter}-svc",
            },
        )
        assert answer.status == 201, f"creating ({letter}) answered {answer.status}: {answer.text}"
        key = answer.json()["key"]
        self.keys[letter].append(key)
        return key, started

    def pages(self, key: str, user: str = "reporter") -> list[dict[str, Any]]:
        answer = self.api(user).get(f"/api/oncall/incidents/{key}/pages/")
        assert answer.status == 200, f"pages of {key} answered {answer.status}: {answer.text}"
        return answer.json()

    def snapshot(self, keys: list[str]) -> dict[str, Any]:
        return self.stack.shell(f"KEYS = {json.dumps(json.dumps(keys))}\n{SNAPSHOT}")

    def _guard(self, name: str, work: Callable[[Outcome], None]) -> None:
        outcome = self.outcomes[name]
        try:
            work(outcome)
        except Exception:
            outcome.error = traceback.format_exc()
        finally:
            outcome.done.set()

    def _spawn(self, name: str, work: Callable[[Outcome], None]) -> threading.Thread:
        thread = threading.Thread(
            target=self._guard, args=(name, work), name=f"e2e-{name}", daemon=True
        )
        thread.start()
        return thread

    def verdict(self, name: str) -> Outcome:
        outcome = self.outcomes[name]
        if not outcome.done.wait(CAMPAIGN_TIMEOUT):
            pytest.fail(f"scenario ({name}) did not finish within {CAMPAIGN_TIMEOUT:.0f} s")
        return outcome

    def _run(self) -> None:
        try:
            self.setup()
        except Exception:
            error = traceback.format_exc()
            for outcome in self.outcomes.values():
                outcome.error = f"setting the data up failed:\n{error}"
                outcome.done.set()
            return
        resend_wait: threading.Thread | None = None
        try:
            key, killed_at = self.kill_worker_mid_delivery(self.outcomes["e"])
            resend_wait = self._spawn("e", lambda o: self.await_resend(o, key, killed_at))
        except Exception:
            self.outcomes["e"].error = traceback.format_exc()
            self.outcomes["e"].done.set()
        threads = [
            self._spawn("a", self.acknowledge_by_emailed_link),
            self._spawn("b", self.acknowledge_by_api),
            self._spawn("c", self.claim),
            self._spawn("g", self.measure_lateness),
            self._spawn("d", self.redis_outage),
        ]
        if resend_wait is not None:
            threads.append(resend_wait)
        for thread in threads:
            thread.join(CAMPAIGN_TIMEOUT)
        self._guard("f", self.no_step_twice)

    # -- (a) (b) (c): answering stops the escalation -------------------------------------

    def expect_no_next_step(self, o: Outcome, key: str, step_user: str, created: float) -> None:
        """Watch until the next step would have reached its person late by the goal and
        more; it must not come."""
        deadline = created + STEP_SECONDS + LATE_GOAL + 30
        arrived = self.hooks.wait(to=step_user, key=key, timeout=max(0.0, deadline - time.time()))
        for arrival in arrived:
            o.failures.append(
                f"escalation did not stop: {step_user} was paged for {key} "
                f"{arrival.at - created:.1f} s after it was logged"
            )
        step_pages = [p for p in self.pages(key) if p["reason"] == "escalation"]
        o.check(
            not step_pages,
            f"{key} has escalation-step pages: {[(p['user'], p['state']) for p in step_pages]}",
        )
        escalation = self.snapshot([key])["escalations"].get(key, {})
        o.figure(
            f"{key}: watched {deadline - created:.0f} s, next-step pages: {len(arrived)}; "
            f"escalation {escalation.get('state')} (fired {escalation.get('fired')})"
        )
        o.check(
            escalation.get("state") in ("acknowledged", "stopped"),
            f"{key}'s escalation is {escalation.get('state')!r}, not acknowledged or stopped",
        )

    def first_page(self, o: Outcome, key: str, user: str, created: float) -> dict[str, Any]:
        mine = [p for p in self.pages(key, user) if p["user"] == user]
        assert mine, f"no page of {user} for {key}: {self.pages(key)}"
        return mine[0]

    def acknowledge_by_emailed_link(self, o: Outcome) -> None:
        key, created = self.create_incident("a")
        mails = self.smtp.wait(to="a-oncall@e2e.test", key=key, timeout=30)
        assert mails, f"no page e-mail for {key} within 30 s"
        mail = mails[0]
        o.figure(f"{key}: page e-mail received {mail.at - created:.2f} s after logging")
        page = self.first_page(o, key, "a-oncall", created)
        o.check(
            # The domain is COMMS_MESSAGE_ID_DOMAIN's default, like every other mail's.
            mail.idempotency_key == f"<page-{page['idempotency_key']}@hotline.local>",
            f"Message-ID {mail.idempotency_key!r} is not the page's idempotency key "
            f"{page['idempotency_key']}",
        )
        link = re.search(r"Acknowledge: (\S+)", mail.text)
        assert link, f"no acknowledge link in the e-mail:\n{mail.text}"
        portal = harness.Client(self.stack.site_url)
        portal.login("a-oncall", harness.PASSWORD)
        shown = portal.get(link.group(1))
        o.figure(f"GET of the e-mailed link: {shown.status}")
        o.check(shown.status == 200, f"GET {link.group(1)} answered {shown.status}")
        o.check(
            'method="post"' in shown.text, "the link's page has no form that POSTs the acknowledge"
        )
        state = self.first_page(o, key, "a-oncall", created)["state"]
        o.check(state == "sent", f"a GET acknowledged the page (state {state!r})")
        started = time.time()
        done = portal.post(
            link.group(1), form={"csrfmiddlewaretoken": harness.csrf_token(shown.text)}
        )
        o.figure(
            f"POST of the acknowledge: {done.status} in {time.time() - started:.2f} s "
            f"({time.time() - created:.1f} s after logging)"
        )
        o.check(
            done.status == 302,
            f"POST acknowledge answered {done.status}, not a redirect: {done.text[:300]}",
        )
        state = self.first_page(o, key, "a-oncall", created)["state"]
        o.check(state == "acknowledged", f"after the POST the page is {state!r}")
        self.expect_no_next_step(o, key, "a-step1", created)

    def acknowledge_by_api(self, o: Outcome) -> None:
        key, created = self.create_incident("b")
        hooks = self.hooks.wait(to="b-oncall", key=key, timeout=30)
        assert hooks, f"no page webhook for {key} within 30 s"
        o.figure(f"{key}: page webhook received {hooks[0].at - created:.2f} s after logging")
        page = self.first_page(o, key, "b-oncall", created)
        started = time.time()
        answer = self.api("b-oncall").post(f"/api/oncall/pages/{page['id']}/acknowledge/")
        o.figure(
            f"POST /api/oncall/pages/{page['id']}/acknowledge/: {answer.status} "
            f"in {time.time() - started:.2f} s"
        )
        if o.check(
            answer.status == 200, f"API acknowledge answered {answer.status}: {answer.text[:300]}"
        ):
            state = answer.json()["state"]
            o.check(state == "acknowledged", f"the API answered state {state!r}")
        self.expect_no_next_step(o, key, "b-step1", created)

    def claim(self, o: Outcome) -> None:
        key, created = self.create_incident("c")
        hooks = self.hooks.wait(to="c-oncall", key=key, timeout=30)
        assert hooks, f"no page webhook for {key} within 30 s"
        o.figure(f"{key}: page webhook received {hooks[0].at - created:.2f} s after logging")
        started = time.time()
        answer = self.api("c-oncall").post(f"/api/incidents/{key}/claim/")
        o.figure(
            f"POST /api/incidents/{key}/claim/: {answer.status} in {time.time() - started:.2f} s"
        )
        if o.check(answer.status == 200, f"claim answered {answer.status}: {answer.text[:300]}"):
            assignee = answer.json().get("assignee")
            o.check(assignee == "c-oncall", f"after the claim the assignee is {assignee!r}")
        self.expect_no_next_step(o, key, "c-step1", created)

    # -- (g): lateness of every step ------------------------------------------------------

    def measure_lateness(self, o: Outcome) -> None:
        key, created = self.create_incident("g")
        steps = TEAMS["g"]
        arrivals: list[harness.Arrival | None] = []
        planned_offset = 0
        for name, wait in steps:
            planned_offset += wait * 60
            deadline = created + planned_offset + LATE_GOAL + 45
            found = self.hooks.wait(to=name, key=key, timeout=max(0.0, deadline - time.time()))
            arrivals.append(found[0] if found else None)
            o.check(len(found) <= 1, f"{name} was paged {len(found)} times for {key}")
        snap = self.snapshot([key])
        started_at = ts(snap["escalations"][key]["started_at"])
        assert started_at is not None
        step_pages = {p["user"]: p for p in snap["pages"] if p["reason"] == "escalation"}
        rows = ["step  planned(+s)  fired late(s)  delivered late(s)"]
        delivered_lateness = []
        planned = started_at
        for number, ((name, wait), arrival) in enumerate(zip(steps, arrivals, strict=True), 1):
            planned += wait * 60
            page = step_pages.get(name)
            fired = ts(page["created_at"]) if page else None
            fired_late = None if fired is None else fired - planned
            delivered_late = None if arrival is None else arrival.at - planned
            rows.append(
                f"{number:>4}  {planned - started_at:>11.0f}  "
                f"{'-' if fired_late is None else f'{fired_late:.2f}':>13}  "
                f"{'-' if delivered_late is None else f'{delivered_late:.2f}':>17}"
            )
            if not o.check(
                arrival is not None and page is not None,
                f"step {number} ({name}) never reached its person",
            ):
                continue
            assert fired_late is not None
            assert delivered_late is not None
            o.check(fired_late >= 0, f"step {number} fired {-fired_late:.2f} s EARLY")
            o.check(delivered_late >= 0, f"step {number} arrived {-delivered_late:.2f} s EARLY")
            o.check(
                delivered_late <= LATE_GOAL,
                f"step {number} arrived {delivered_late:.2f} s late (goal <= {LATE_GOAL:.0f} s)",
            )
            delivered_lateness.append(delivered_late)
        o.figure(
            f"{key} lateness per step (planned = escalation start + waits):\n    "
            + "\n    ".join(rows)
        )
        if len(delivered_lateness) >= 2:
            spread = max(delivered_lateness) - min(delivered_lateness)
            growth = delivered_lateness[-1] - delivered_lateness[0]
            o.figure(f"{key}: spread {spread:.2f} s, last minus first {growth:+.2f} s")
            o.check(
                spread <= GROWTH_LIMIT,
                f"lateness varies by {spread:.2f} s across steps (limit {GROWTH_LIMIT:.0f} s): "
                f"{[round(x, 2) for x in delivered_lateness]}",
            )

    # -- (e): a worker killed mid-delivery ---------------------------------------------

    def kill_worker_mid_delivery(self, o: Outcome) -> tuple[str, float]:
        key, created = self.create_incident("e")
        held = self.hooks.wait(to="e-oncall", key=key, timeout=30)
        assert held, f"the page of {key} never reached the (holding) receiver"
        # Well inside the webhook transport's 10 s timeout: the worker is blocked in the
        # request when it dies.
        time.sleep(1.0)
        old = self.stack.current_worker
        old.kill()
        killed_at = old.killed_at or time.time()
        self.stack.start_worker()
        o.figure(
            f"{key}: page reached the receiver {held[0].at - created:.2f} s after logging; "
            f"{old.name} (pid {old.pid}) SIGKILLed with its pool {killed_at - held[0].at:.2f} s "
            f"into the request; {self.stack.current_worker.name} ready "
            f"{time.time() - killed_at:.2f} s after the kill"
        )
        self.hooks.release.set()
        return key, killed_at

    def await_resend(self, o: Outcome, key: str, killed_at: float) -> None:
        found = self.hooks.wait(to="e-oncall", key=key, count=2, timeout=150)
        page = self.first_page(o, key, "e-oncall", killed_at)
        if len(found) < 2:
            o.failures.append(
                f"no re-send of {key}'s page within {time.time() - killed_at:.0f} s of the kill "
                f"(page state {page['state']!r})"
            )
        else:
            delay = found[1].at - killed_at
            o.figure(
                f"{key}: re-sent {delay:.2f} s after the worker died (goal <= "
                f"{RESEND_GOAL:.0f} s); {len(found)} requests in all"
            )
            o.check(
                delay <= RESEND_GOAL,
                f"re-sent {delay:.2f} s after the kill, goal <= {RESEND_GOAL:.0f} s",
            )
        keys = {a.idempotency_key for a in found}
        o.figure(
            f"Idempotency-Key of the {len(found)} requests: {sorted(keys)}; "
            f"page's key {page['idempotency_key']}"
        )
        o.check(
            keys == {page["idempotency_key"]},
            f"re-sends carry keys {sorted(keys)}, not only {page['idempotency_key']}",
        )
        harness.wait_until(lambda: self.first_page(o, key, "e-oncall", 0)["state"] == "sent", 15)
        page = self.first_page(o, key, "e-oncall", killed_at)
        o.check(page["state"] == "sent", f"after the re-send the page is {page['state']!r}")
        ok = [a for a in page["attempts"] if a["ok"]]
        o.check(len(ok) == 1, f"{len(ok)} successful attempts recorded, not one")

    # -- (d): Redis stopped with pages in flight -------------------------------------------

    def redis_outage(self, o: Outcome) -> None:
        stack = self.stack
        escalating, created = self.create_incident("d", " (step due during outage)")
        due = created + D_STEP_MINUTES * 60
        time.sleep(max(0.0, due - 10 - time.time()))
        in_flight, _ = self.create_incident("d", " (logged just before the outage)")
        stack.redis.kill()
        down = stack.redis.killed_at or time.time()
        time.sleep(2)
        during = None
        statuses: list[int] = []
        while during is None and time.time() < down + OUTAGE_SECONDS - 2:
            answer = self.api("reporter").post(
                "/api/incidents/",
                json_body={
                    "summary": "E2E d (logged during the outage): checkout down",
                    "description": "Logged while Redis is down.",
                    "severity": 1,
                    "faulty_service": "e2e-d-svc",
                },
                timeout=20,
            )
            statuses.append(answer.status)
            if answer.status == 201:
                during = answer.json()["key"]
                self.keys["d"].append(during)
            else:
                o.check(
                    answer.status == 503,
                    f"logging during the outage answered "
                    f"{answer.status}, not 201 or 503: {answer.text[:300]}",
                )
                time.sleep(2)
        time.sleep(max(0.0, down + OUTAGE_SECONDS - time.time()))
        stack.start_redis()
        up = time.time()
        o.figure(f"Redis down {up - down:.1f} s; logging during it answered {statuses}")
        time.sleep(5)
        for process in (stack.web, stack.current_worker, *stack.beats):
            if process.alive():
                continue
            last = (process.tail(1) or "(no output)").strip()[:200]
            code = process.popen.returncode if process.popen else None
            o.failures.append(f"{process.name} exited ({code}) in the Redis outage: {last}")
            if process is not stack.web:
                revived = stack.revive(process)
                o.figure(
                    f"{process.name} exited ({code}) in the outage: {last}; {revived.name} "
                    f"started in its place {time.time() - up:.1f} s after Redis came back"
                )
        if during is None:
            during, _ = self.create_incident("d", " (logged as Redis came back)")
        expected = [("d-oncall", in_flight), ("d-oncall", during), ("d-step1", escalating)]
        for user, key in expected:
            found = self.hooks.wait(to=user, key=key, timeout=max(0.0, up + 90 - time.time()))
            if o.check(bool(found), f"{user}'s page for {key} never arrived (lost?)"):
                o.figure(
                    f"{key} -> {user}: arrived {found[0].at - up:+.2f} s after Redis came "
                    f"back; {len(found)} request(s), keys "
                    f"{sorted({a.idempotency_key for a in found})}"
                )
                o.check(
                    len({a.idempotency_key for a in found}) == 1,
                    f"{user} got {key} under several idempotency keys",
                )
        step = self.hooks.seen(to="d-step1", key=escalating)
        if step:
            o.figure(
                f"{escalating}: step planned at +{D_STEP_MINUTES * 60} s (during the "
                f"outage) arrived {step[0].at - due:.2f} s after its planned time"
            )
        dead = [p.name for p in (stack.web, stack.current_worker, *stack.beats) if not p.alive()]
        o.check(not dead, f"processes dead after the outage: {dead}")

    # -- (f): two beats, no step twice ----------------------------------------------------

    def no_step_twice(self, o: Outcome) -> None:
        keys = [key for letter_keys in self.keys.values() for key in letter_keys]
        snap = self.snapshot(keys)
        for beat in self.stack.beats:
            sent = beat.text().count("Sending due task oncall: fire due escalation steps")
            o.figure(f"{beat.name}: sent 'fire due escalation steps' {sent} times")
            o.check(sent >= 5, f"{beat.name} sent the escalation tick only {sent} times")
        starts = [beat.started_at for beat in self.stack.beats]
        o.figure(f"beats started {max(starts) - min(starts):.2f} s apart")
        per_step = Counter(
            (p["key"], p["user"]) for p in snap["pages"] if p["reason"] in ("escalation", "imoc")
        )
        twice = {k: n for k, n in per_step.items() if n > 1}
        o.check(not twice, f"escalation steps fired more than once: {twice}")
        for key, escalation in snap["escalations"].items():
            fired_pages = sum(n for (k, _), n in per_step.items() if k == key)
            o.check(
                fired_pages == escalation["fired"],
                f"{key}: {fired_pages} step pages but escalation.fired = {escalation['fired']}",
            )
        step_events = Counter(
            (key, re.match(r"Step (\d+):", text).group(1))  # type: ignore[union-attr]
            for key, kind, text, _ in snap["events"]
            if kind == "step" and re.match(r"Step \d+:", text)
        )
        o.check(
            all(n == 1 for n in step_events.values()),
            f"a step recorded twice in the paging history: {step_events}",
        )
        received = defaultdict(set)
        for arrival in self.hooks.seen():
            if arrival.to.endswith(tuple(f"-step{n}" for n in range(1, 5))):
                received[(arrival.key, arrival.to)].add(arrival.idempotency_key)
        o.check(
            all(len(v) == 1 for v in received.values()),
            f"a step person got several distinct pages for one incident: {dict(received)}",
        )
        o.figure(
            f"{sum(per_step.values())} step pages over {len(snap['escalations'])} "
            f"escalations, each step once: {not twice}"
        )


@pytest.fixture(scope="module")
def campaign(e2e_stack: harness.Stack, figures: harness.Figures) -> Iterator[Campaign]:
    running = Campaign(e2e_stack, figures)
    running.thread.start()
    yield running
    # Normally finished (every test waited for its verdict); after an interrupt do not
    # wait: the stack's teardown kills the processes and the thread dies with them.
    running.thread.join(5)


def judge(outcome: Outcome) -> None:
    for line in outcome.measured:
        print(line)
    if outcome.error:
        pytest.fail(
            f"scenario ({outcome.name}) stopped:\n{outcome.error}\n" + "\n".join(outcome.failures)
        )
    assert not outcome.failures, "\n".join(["", *outcome.failures, "measured:", *outcome.measured])


def test_a_acknowledging_by_the_emailed_link_stops_the_escalation(campaign):
    judge(campaign.verdict("a"))


def test_b_acknowledging_by_the_api_stops_the_escalation(campaign):
    judge(campaign.verdict("b"))


def test_c_claiming_the_incident_stops_the_escalation(campaign):
    judge(campaign.verdict("c"))


def test_d_no_page_is_lost_when_redis_stops_and_comes_back(campaign):
    judge(campaign.verdict("d"))


def test_e_a_page_caught_in_a_killed_worker_is_resent_with_the_same_key(campaign):
    judge(campaign.verdict("e"))


def test_f_two_beats_never_fire_a_step_twice(campaign):
    judge(campaign.verdict("f"))


def test_g_escalation_steps_are_never_early_and_at_most_15_s_late(campaign):
    judge(campaign.verdict("g"))
