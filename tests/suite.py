"""Run every check `make test` promises, then end with one line of real counts.

Each step is the Makefile target of the same name, so a developer can run any one alone.
Every step runs even after one fails, and the last line always reads
`all: N passed, M failed`, adding pytest tests, behave scenarios and contract cases, with
lint, spec lint, type check and load smoke counted as one check each. The exit status is non-zero
when anything failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "build" / "test-results"
CONTRACT_REPORTS = [
    ROOT / "build" / "contract" / "report.json",
    ROOT / "build" / "contract" / "outside-report.json",
]


@dataclass(frozen=True)
class Count:
    """What one step ran: how many of its cases passed and failed."""

    passed: int
    failed: int


def junit_count(paths: list[Path]) -> Count | None:
    """Add up JUnit XML reports: tests minus failures, errors and skips passed."""
    if not paths:
        return None
    passed = failed = 0
    for path in paths:
        root = ElementTree.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        for suite in suites:
            tests = int(suite.get("tests", 0))
            broken = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped = int(suite.get("skipped", 0))
            passed += tests - broken - skipped
            failed += broken
    return Count(passed, failed)


def pytest_count() -> Count | None:
    """Count the pytest run from its JUnit report."""
    return junit_count(sorted((RESULTS / "pytest").glob("*.xml")))


def behave_count() -> Count | None:
    """Count the behave scenarios from their JUnit reports, one file per feature."""
    return junit_count(sorted((RESULTS / "behave").glob("*.xml")))


def contract_count() -> Count | None:
    """Count the schemathesis cases of both runs (the project's, the outsider's)."""
    reports = [path for path in CONTRACT_REPORTS if path.exists()]
    if not reports:
        return None
    passed = failed = 0
    for path in reports:
        cases = json.loads(path.read_text()).get("test_cases", {})
        failures = int(cases.get("unique_failures", 0))
        passed += max(int(cases.get("generated", 0)) - failures, 0)
        failed += failures
    return Count(passed, failed)


@dataclass(frozen=True)
class Step:
    """One Makefile target; `count` reads what it ran, or None to count it as one check."""

    target: str
    count: Callable[[], Count | None] | None = None


# Bytecode cached in __pycache__ (git ignores it) even where the shell says not to: every test
# worker, server and fuzzer the steps start imports the project anew, and pytest rewrites
# each test module's asserts once instead of once per worker.
STEP_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

STEPS = [
    Step("lint"),
    Step("speclint"),
    Step("typecheck"),
    Step("unit", pytest_count),
    Step("features", behave_count),
    Step("smoke"),
    Step("contract", contract_count),
]


def run(step: Step) -> tuple[Count, str]:
    """Run one step and return its count, and a line describing it."""
    started = time.monotonic()
    exit_code = subprocess.run(
        ["make", "--no-print-directory", step.target], cwd=ROOT, env=STEP_ENV
    ).returncode
    seconds = time.monotonic() - started
    counted = step.count() if step.count is not None else None
    if counted is None:
        counted = Count(1, 0) if exit_code == 0 else Count(0, 1)
    elif exit_code != 0 and counted.failed == 0:
        # The tool failed without a failing case (a crash, a coverage or size check):
        # that is one failure of its own, never a silent pass.
        counted = Count(counted.passed, 1)
    verdict = "ok" if exit_code == 0 else f"FAILED (exit {exit_code})"
    line = f"{step.target}: {counted.passed} passed, {counted.failed} failed, {verdict}"
    return counted, f"{line} in {seconds:.0f} s"


def main() -> int:
    """Run every step and print the summary; exit 1 if anything failed."""
    shutil.rmtree(RESULTS, ignore_errors=True)
    for report in CONTRACT_REPORTS:
        report.unlink(missing_ok=True)
    RESULTS.mkdir(parents=True)
    lines, passed, failed = [], 0, 0
    for step in STEPS:
        counted, line = run(step)
        lines.append(line)
        passed += counted.passed
        failed += counted.failed
    print("\n== make test summary")
    print("\n".join(lines))
    print(f"all: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
