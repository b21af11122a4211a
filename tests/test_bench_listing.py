"""``make bench`` runs every module ``bench.__main__.benchmarks`` lists: each must be a
benchmark (a ``results`` function), or the table ends in a row that never holds."""

import ast
from pathlib import Path

from bench.__main__ import HERE, benchmarks


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_listed_module_gives_results():
    listed = benchmarks()
    assert {"support", "metrics", "alerts", "paging"} <= set(listed)
    without = [name for name in listed if "results" not in _functions(HERE / f"{name}.py")]
    assert without == []


def test_helper_modules_are_not_listed():
    helpers = {path.stem for path in HERE.glob("_*.py")}
    assert "_processes" in helpers
    assert helpers.isdisjoint(benchmarks())
