"""Benchmarks, run as scripts (``python bench/<name>.py``); a package so that one
benchmark can reuse another's fill and mypy sees each module once."""

import tempfile
from pathlib import Path


def scratch_folder() -> str:
    """A throw-away ``VAR_DIR`` for a benchmark's processes, with the static folder that
    ``collectstatic`` fills in production (WhiteNoise warns at every start without it;
    the benchmarks' pages link their static files but never fetch them)."""
    folder = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    (folder / "static").mkdir()
    return str(folder)
