"""Every benchmark in ``bench/``, one table: ``python -m bench [--full] [--only NAME]``
(``make bench``, ``make bench ARGS=--full``).

Each benchmark is a module with ``results(full: bool) -> list[dict]`` (a module whose
name starts with ``_`` is a helper they share, not a benchmark), one dict per goal
with the keys ``path, ms, baseline_ms, ratio, goal, holds, range`` (``range``: the
lowest and highest ratio of the alternated rounds, or of the figure when there is no
ratio; a ``note`` may say more). Each runs in a process of its own: the modules set up
Django when imported, each with its own throw-away folder and database, and one that
fails leaves the others' rows standing.

With no ``DATABASE_URL`` and ``REDIS_URL`` the benchmarks use throw-away SQLite and the
embedded broker. The issue's figures are on PostgreSQL + Redis: set both to scratch
databases (the benchmarks migrate and fill them). A module that sets
``ALSO_EMBEDDED = True`` runs once more without them, where the embedded default has a
goal of its own.

The exit status is 1 when a goal does not hold or a benchmark failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The order of the table; a module added to bench/ later comes after these.
ORDER = ["support", "metrics", "list_pages", "alerts", "alert_groups", "paging"]
COLUMNS = ["path", "ms", "baseline ms", "ratio", "goal", "holds?", "range"]


def benchmarks() -> list[str]:
    names = {path.stem for path in HERE.glob("*.py") if not path.stem.startswith("_")}
    return [name for name in ORDER if name in names] + sorted(names - set(ORDER))


def child(name: str, full: bool, out: str) -> None:
    """In the benchmark's own process: its rows as JSON into ``out``."""
    sys.path.insert(0, str(ROOT))
    module = importlib.import_module(f"bench.{name}")
    if not hasattr(module, "results"):
        rows: Any = {"missing": True}
    else:
        rows = {"rows": module.results(full), "embedded": getattr(module, "ALSO_EMBEDDED", False)}
    Path(out).write_text(json.dumps(rows, default=list))


def run(name: str, full: bool, env: dict[str, str]) -> dict[str, Any]:
    # Benchmarks share a database when DATABASE_URL names one, and some fill it in bulk
    # (COPY) around the key counter: each numbers its incidents under its own prefix.
    env = {**env, "INCIDENT_KEY_PREFIX": name.replace("_", "").upper()[:10]}
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    command = [sys.executable, "-m", "bench", "--child", name, "--out", out]
    if full:
        command.append("--full")
    print(f"== {name} ==", flush=True)
    try:
        finished = subprocess.run(command, cwd=ROOT, env=env, check=False)
        text = Path(out).read_text()
        if finished.returncode or not text:
            return {"failed": f"exit status {finished.returncode}"}
        found: dict[str, Any] = json.loads(text)
        return found
    finally:
        Path(out).unlink(missing_ok=True)


def number(value: Any, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def spread(row: dict[str, Any]) -> str:
    value = row.get("range")
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    low, high = value
    return f"{low:.2f}-{high:.2f}x" if row.get("ratio") is not None else f"{low:.0f}-{high:.0f}"


def cells(row: dict[str, Any]) -> list[str]:
    ratio = row.get("ratio")
    return [
        str(row["path"]) + (f" [{row['note']}]" if row.get("note") else ""),
        number(row.get("ms")),
        number(row.get("baseline_ms")),
        "" if ratio is None else f"{ratio:.2f}x",
        str(row.get("goal", "")),
        "yes" if row.get("holds") else "NO",
        spread(row),
    ]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def backing(env: dict[str, str]) -> str:
    if env.get("DATABASE_URL") or env.get("REDIS_URL"):
        database = "PostgreSQL" if env.get("DATABASE_URL") else "SQLite"
        broker = "Redis" if env.get("REDIS_URL") else "the filesystem broker"
        return f"{database} + {broker}"
    return "throw-away SQLite + the filesystem broker (embedded)"


def print_table(rows: list[list[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(COLUMNS) + " |")
        print("|" + "---|" * len(COLUMNS))
        for row in rows:
            print("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
        return
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    for row in [COLUMNS, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's large size")
    parser.add_argument("--only", action="append", help="a benchmark's name (repeatable)")
    parser.add_argument("--markdown", action="store_true", help="the table as Markdown")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.full, args.out)
        return

    started = datetime.now(UTC)
    env = dict(os.environ)
    embedded_env = {k: v for k, v in env.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    table: list[list[str]] = []
    failed = False
    for name in args.only or benchmarks():
        runs = [run(name, args.full, env)]
        if runs[0].get("embedded") and env.get("REDIS_URL"):
            runs.append(run(name, args.full, embedded_env))
        for again, found in enumerate(runs):
            if again:
                # The second run's rows say so, unless they name their backing already.
                for row in found.get("rows", []):
                    if "embedded" not in row["path"]:
                        row["path"] += " (embedded)"
            if "failed" in found or "missing" in found:
                failed = True
                why = found.get("failed") or "no results() yet"
                table.append([f"{name}: {why}", "", "", "", "", "NO", ""])
                continue
            for row in found["rows"]:
                failed = failed or not row.get("holds")
                table.append(cells(row))

    print()
    print(
        f"{started:%Y-%m-%d %H:%M} UTC, {'--full' if args.full else 'default'} size,"
        f" {backing(env)}; {machine()}"
    )
    print_table(table, args.markdown)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
