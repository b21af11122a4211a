"""The processes a benchmark starts, and their CPU time (Linux's ``/proc``)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: set[int]) -> float:
    """User and system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def children(parent: int) -> set[int]:
    """The processes ``parent`` started (gunicorn's workers)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.add(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def celery_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The real worker, the one ``make run`` starts, with the solo pool (one process:
    the machine has 2 cores), on the database, broker and folder (``VAR_DIR``) that
    ``env`` names."""
    return subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
    )
