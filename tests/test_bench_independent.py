"""The benchmarks run from a checkout without the test suite: nothing under bench/ imports tests/."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def imported_modules(source: Path) -> set[str]:
    """Every module a file imports, at any depth (absolute names; relative imports as '.name')."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add("." * node.level + (node.module or ""))
    return modules


def test_no_benchmark_imports_the_tests() -> None:
    files = sorted(BENCH.glob("*.py"))
    assert len(files) > 1, "no benchmarks found"
    offending = {
        f"{source.name}: {module}"
        for source in files
        for module in imported_modules(source)
        if module == "tests" or module.startswith("tests.")
    }
    assert not offending, f"benchmarks import the tests: {sorted(offending)}"


def test_the_import_scan_sees_nested_and_from_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom tests.mqtt import mqtt_rig\n\ndef f():\n    import tests.eventually\n")
    assert imported_modules(sample) == {"os", "tests.mqtt", "tests.eventually"}
