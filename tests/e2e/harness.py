"""The end-to-end stack: real processes, real receivers, a plain HTTP client.

Everything here runs outside the test process's Django: PostgreSQL database
``e2e_hotline``, a Redis server of our own on a free port (never the shared one on 6379),
gunicorn serving ``config.wsgi``, a Celery worker and Celery beat, started as the
Procfile starts them, each logging to its own file. The test process only talks HTTP to
gunicorn and runs ``manage.py`` in subprocesses; it receives what the stack sends on a
local SMTP server and a local webhook server, recording when each message arrived.
"""

from __future__ import annotations

import atexit
import contextlib
import email.message
import http.cookies
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

from tests.receivers import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATABASE = "e2e_hotline"
# The maintenance database of the server, where e2e_hotline is dropped and created.
POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PASSWORD = "e2e-Password-4711"

# Variables of the developer's or CI's shell that must not leak into the stack.
SCRUBBED = (
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "SITE_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "VAR_DIR",
    "DEMO_DATA",
    "DJANGO_SETTINGS_MODULE",
)


class StackError(RuntimeError):
    """The harness could not bring a part of the stack up: a failure, never a skip."""


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """The predicate's first truthy answer within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def prerequisites() -> list[str]:
    """What is missing to run the layer, in words."""
    missing = []
    if shutil.which("redis-server") is None:
        missing.append("redis-server is not on PATH (apt-get install redis-server)")
    for tool in ("gunicorn", "celery"):
        if not (BIN / tool).exists():
            missing.append(f"{BIN / tool} is missing (pip install -e '.[dev]')")
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        missing.append("aiosmtpd is not installed (pip install -e '.[dev]')")
    try:
        import psycopg

        with psycopg.connect(POSTGRES) as conn:
            conn.execute("SELECT 1")
    except Exception as error:
        missing.append(f"PostgreSQL at 127.0.0.1:5432 (user postgres) is not reachable: {error}")
    return missing


def run_dir(keep: int = 5) -> Path:
    """Where this run's logs and runtime files go: ``E2E_DIR``, or a new folder under
    the ignored ``var/e2e/`` (not pytest's tmp dirs, which other test sessions on the
    machine prune), keeping the newest runs only."""
    if os.environ.get("E2E_DIR"):
        root = Path(os.environ["E2E_DIR"])
        root.mkdir(parents=True, exist_ok=True)
        return root
    parent = BASE_DIR / "var" / "e2e"
    parent.mkdir(parents=True, exist_ok=True)
    for old in sorted(p for p in parent.iterdir() if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    root = parent / time.strftime("%Y%m%d-%H%M%S")
    root.mkdir()
    return root


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def drop_database() -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


# Processes ------------------------------------------------------------------------------


@dataclass
class Process:
    """A subprocess in a session of its own (so its children die with it), logging to a
    file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None
    started_at: float = 0.0
    killed_at: float | None = None

    def start(self) -> Process:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_at = time.time()
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def wait_for_log(self, pattern: str, timeout: float, *, after: int = 0) -> bool:
        regex = re.compile(pattern)

        def seen() -> bool:
            if not self.alive():
                raise StackError(
                    f"{self.name} exited with {self.popen.returncode if self.popen else None} "
                    f"before logging {pattern!r}:\n{self.tail()}"
                )
            return bool(regex.search(self.text()[after:]))

        return bool(wait_until(seen, timeout, 0.1))

    def signal_group(self, sig: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL the process and every child of its session: a machine losing it."""
        self.killed_at = time.time()
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(10)

    def stop(self, grace: float = 10) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
        # Whatever is left of the session (pool children, a hung shutdown) goes too.
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


class Stack:
    """PostgreSQL ``e2e_hotline``, our own Redis, gunicorn, workers and beats."""

    redis: Process
    web: Process
    current_worker: Process
    beats: list[Process]

    def __init__(self, root: Path, *, smtp_port: int) -> None:
        self.root = root
        self.logs = root / "logs"
        self.var = root / "var"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.var.mkdir(parents=True, exist_ok=True)
        self.redis_port = free_port()
        self.web_port = free_port()
        self.site_url = f"http://127.0.0.1:{self.web_port}"
        self.processes: list[Process] = []
        self.database_created = False
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        env.update(
            {
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
                "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
                "SITE_URL": self.site_url,
                # Production-like: debug off, so static files come from collectstatic.
                "SECRET_KEY": secrets.token_urlsafe(40),
                "DEBUG": "0",
                "DEMO_DATA": "0",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                # No TLS proxy in front of gunicorn here.
                "SECURE_SSL_REDIRECT": "0",
                "SECURE_HSTS_SECONDS": "0",
                "VAR_DIR": str(self.var),
                "PYTHONUNBUFFERED": "1",
                "LOG_LEVEL": "INFO",
            }
        )
        self.env = env
        self.counts: dict[str, int] = {}
        # A safety net when the test process is interrupted past the fixture teardown.
        atexit.register(self.kill_all)

    # -- running things ------------------------------------------------------------------

    def _process(self, kind: str, argv: list[str]) -> Process:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        name = f"{kind}-{self.counts[kind]}"
        process = Process(name, argv, self.env, self.logs / f"{name}.log")
        self.processes.append(process)
        return process

    def manage(self, *args: str, timeout: float = 300) -> str:
        """Run ``manage.py`` with the stack's environment; its output, or StackError."""
        name = f"manage-{args[0]}"
        result = subprocess.run(
            [str(BIN / "python"), "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        with (self.logs / f"{name}.log").open("a") as log:
            log.write(f"$ manage.py {' '.join(args)[:200]}\n{result.stdout}\n{result.stderr}\n")
        if result.returncode != 0:
            raise StackError(
                f"manage.py {args[0]} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def shell(self, code: str) -> Any:
        """Run Python in ``manage.py shell`` (a process of its own, autocommit, no test
        transaction); it prints one JSON document on its last line, returned here."""
        out = self.manage("shell", "-c", code)
        lines = [line for line in out.splitlines() if line.strip()]
        if not lines:
            raise StackError("manage.py shell printed nothing")
        return json.loads(lines[-1])

    def start_redis(self) -> Process:
        redis = self._process(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.var),
            ],
        ).start()
        if not redis.wait_for_log(r"Ready to accept connections", 15):
            raise StackError(f"redis-server did not start:\n{redis.tail()}")
        self.redis = redis
        return redis

    def prepare_database(self) -> None:
        """``migrate`` and ``collectstatic`` side by side (they do not touch each other)."""
        static = threading.Thread(
            target=self._collect_static, name="e2e-collectstatic", daemon=True
        )
        static.start()
        self.manage("migrate", "--noinput")
        static.join(300)
        if self.static_error is not None:
            raise self.static_error

    static_error: StackError | None = None

    def _collect_static(self) -> None:
        try:
            self.manage("collectstatic", "--noinput", "--verbosity", "0")
        except StackError as error:
            self.static_error = error

    def start_web(self) -> Process:
        # The Procfile's web line.
        web = self._process(
            "web",
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
                # Not the shared default in ~/.gunicorn, which other servers use.
                "--control-socket",
                str(self.var / "gunicorn.ctl"),
            ],
        ).start()
        client = Client(self.site_url)

        def healthy() -> bool:
            if not web.alive():
                raise StackError(f"gunicorn exited:\n{web.tail()}")
            try:
                return client.get("/healthz", timeout=3).status == 200
            except OSError:
                return False

        if not wait_until(healthy, 40, 0.3):
            raise StackError(f"gunicorn /healthz never answered 200:\n{web.tail()}")
        # Each of the two workers renders the open support boards before it serves
        # (gunicorn.conf.py), or logs why not.
        done = r"(?s)(rendered before serving.*){2}"
        warmed = web.wait_for_log(done, 10)
        if not warmed or "not rendered before serving" in web.text():
            raise StackError(f"a gunicorn worker did not warm up:\n{web.tail()}")
        self.web = web
        return web

    def worker(self) -> Process:
        """A worker as the Procfile starts one (prefork, two processes), not yet waited for."""
        number = self.counts.get("worker", 0) + 1
        return self._process(
            "worker",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "-n",
                f"e2e-{number}@%h",
            ],
        ).start()

    def start_worker(self, worker: Process | None = None) -> Process:
        worker = worker or self.worker()
        if not worker.wait_for_log(r"\bready\.", 60):
            raise StackError(f"{worker.name} never became ready:\n{worker.tail()}")
        self.current_worker = worker
        return worker

    def start_all(self) -> None:
        """gunicorn, the worker and two beats, started at once and then waited for."""
        worker = self.worker()
        self.start_beats(2)
        self.start_web()
        self.start_worker(worker)

    def revive(self, dead: Process) -> Process:
        """Start a dead worker or beat again, as a process supervisor would."""
        if dead.name.startswith("worker"):
            return self.start_worker()
        beat = self.beat()
        if not beat.wait_for_log(r"beat: Starting", 40):
            raise StackError(f"{beat.name} never started:\n{beat.tail()}")
        self.beats = [beat if old is dead else old for old in self.beats]
        return beat

    def beat(self) -> Process:
        number = self.counts.get("beat", 0) + 1
        return self._process(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel=INFO",
                "-s",
                str(self.var / f"celerybeat-schedule-{number}"),
            ],
        ).start()

    def start_beats(self, count: int) -> list[Process]:
        # Started together, so their 15-second ticks fall at the same instants: the two
        # "fire due escalation steps" tasks then race each other every tick.
        beats = [self.beat() for _ in range(count)]
        for beat in beats:
            if not beat.wait_for_log(r"beat: Starting", 40):
                raise StackError(f"{beat.name} never started:\n{beat.tail()}")
        self.beats = beats
        return beats

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def kill_all(self) -> None:
        for process in self.processes:
            process.signal_group(signal.SIGKILL)

    def report(self, lines: int = 60) -> str:
        parts = [f"logs kept in {self.logs}"]
        for process in self.processes:
            state = (
                "running"
                if process.alive()
                else f"exited {process.popen.returncode if process.popen else '-'}"
            )
            parts.append(f"----- {process.name} (pid {process.pid}, {state}) -----")
            parts.append(process.tail(lines))
        return "\n".join(parts)


# HTTP -----------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """urllib with a cookie jar that keeps ``Secure`` cookies over plain HTTP (no TLS
    proxy here), no redirect following, and an optional API token."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(_NoRedirect)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 20,
    ) -> Response:
        url = path if path.startswith("http") else self.base + path
        data = None
        all_headers = {"Accept": "application/json" if "/api/" in url else "text/html"}
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.token:
            all_headers["Authorization"] = f"Token {self.token}"
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        all_headers.update(headers or {})
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with self.opener.open(request, timeout=timeout) as answer:
                response = Response(answer.status, dict(answer.headers), answer.read(), url)
                raw_cookies = answer.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as error:
            response = Response(error.code, dict(error.headers), error.read(), url)
            raw_cookies = error.headers.get_all("Set-Cookie") or []
        for raw in raw_cookies:
            jar = http.cookies.SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return response

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def login(self, username: str, password: str) -> None:
        """Sign in through the portal's login form, as a person would."""
        page = self.get("/accounts/login/")
        token = csrf_token(page.text)
        answer = self.post(
            "/accounts/login/",
            form={"username": username, "password": password, "csrfmiddlewaretoken": token},
        )
        if answer.status != 302:
            raise AssertionError(f"login of {username} answered {answer.status}: {answer.text}")


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not found:
        raise AssertionError(f"no CSRF token in the page:\n{html[:2000]}")
    return found.group(1)


# Receivers ------------------------------------------------------------------------------


@dataclass
class Arrival:
    """One request or e-mail as the receiver saw it, with the time it came in."""

    at: float
    channel: str
    to: str
    headers: dict[str, str]
    body: bytes
    key: str = ""
    idempotency_key: str = ""
    text: str = ""
    completed: bool = True


class WebhookReceiver:
    """Records every POST at ``/hook/<username>``; at ``/hold/<username>`` the first
    request is held (the delivering worker blocked mid-request) until released."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.condition = threading.Condition()
        self.release = threading.Event()
        self.held_paths: set[str] = set()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                arrival = Arrival(
                    at=time.time(),
                    channel="webhook",
                    to=self.path.rstrip("/").rsplit("/", 1)[-1],
                    headers=dict(self.headers.items()),
                    body=body,
                    key=(payload.get("incident") or {}).get("key", ""),
                    idempotency_key=self.headers.get("Idempotency-Key", ""),
                    text=payload.get("text", ""),
                )
                hold = False
                with receiver.condition:
                    if self.path.startswith("/hold/") and self.path not in receiver.held_paths:
                        receiver.held_paths.add(self.path)
                        hold = True
                        arrival.completed = False
                    receiver.arrivals.append(arrival)
                    receiver.condition.notify_all()
                if hold:
                    receiver.release.wait(60)
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender died while we held it: that is the point

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def seen(self, *, to: str | None = None, key: str | None = None) -> list[Arrival]:
        with self.condition:
            return [
                a
                for a in self.arrivals
                if (to is None or a.to == to) and (key is None or a.key == key)
            ]

    def wait(
        self, *, to: str | None = None, key: str | None = None, count: int = 1, timeout: float
    ) -> list[Arrival]:
        """The arrivals so far once there are ``count`` of them (or at the timeout)."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while True:
                found = [
                    a
                    for a in self.arrivals
                    if (to is None or a.to == to) and (key is None or a.key == key)
                ]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self.condition.wait(min(left, 1.0))


class SmtpReceiver:
    """aiosmtpd on a free port, recording each message with its arrival time."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrivals: list[Arrival] = []
        self.condition = threading.Condition()
        self.port = free_port()
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = message_from_bytes(envelope.original_content)
                subject = str(message.get("Subject", ""))
                found = re.search(r"\b([A-Z][A-Z0-9]*-\d+)\b", subject)
                arrival = Arrival(
                    at=time.time(),
                    channel="email",
                    to=",".join(envelope.rcpt_tos),
                    headers=dict(message.items()),
                    body=envelope.original_content,
                    key=found.group(1) if found else "",
                    idempotency_key=str(message.get("Message-ID", "")),
                    text=_plain_text(message),
                )
                with receiver.condition:
                    receiver.arrivals.append(arrival)
                    receiver.condition.notify_all()
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def wait(
        self, *, to: str | None = None, key: str | None = None, count: int = 1, timeout: float
    ) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        with self.condition:
            while True:
                found = [
                    a
                    for a in self.arrivals
                    if (to is None or a.to == to) and (key is None or a.key == key)
                ]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self.condition.wait(min(left, 1.0))


def _plain_text(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""


@dataclass
class Figures:
    """Measured numbers of every scenario, printed at the end of the run."""

    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, scenario: str, text: str) -> None:
        with self.lock:
            self.lines.append(f"[{scenario}] {text}")
