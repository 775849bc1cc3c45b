"""The summary `make test` ends with counts what really ran, and never hides a failure."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests import suite

PYTEST_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="2" skipped="3" tests="20">
</testsuite></testsuites>"""
BEHAVE_XML = '<testsuite name="login" tests="4" errors="0" failures="1" skipped="0"></testsuite>'


def test_junit_reports_are_added_up_without_counting_skips_as_passes(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text(PYTEST_XML)
    (tmp_path / "b.xml").write_text(BEHAVE_XML)
    counted = suite.junit_count([tmp_path / "a.xml", tmp_path / "b.xml"])
    assert counted == suite.Count(passed=14 + 3, failed=3 + 1)


def test_contract_cases_passed_are_those_generated_minus_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, outside = tmp_path / "report.json", tmp_path / "outside-report.json"
    ours.write_text(json.dumps({"test_cases": {"generated": 1200, "unique_failures": 2}}))
    outside.write_text(json.dumps({"test_cases": {"generated": 800, "unique_failures": 0}}))
    monkeypatch.setattr(suite, "CONTRACT_REPORTS", [ours, outside, tmp_path / "missing.json"])
    assert suite.contract_count() == suite.Count(1998, 2)


@pytest.mark.parametrize(
    ("exit_code", "counted", "expected"),
    [
        (0, None, suite.Count(1, 0)),
        (2, None, suite.Count(0, 1)),
        (0, suite.Count(10, 0), suite.Count(10, 0)),
        # A tool that failed with every case passing (a crash after the run) still fails.
        (1, suite.Count(10, 0), suite.Count(10, 1)),
        (1, suite.Count(8, 2), suite.Count(8, 2)),
    ],
)
def test_a_step_that_exits_non_zero_always_counts_a_failure(
    monkeypatch: pytest.MonkeyPatch,
    exit_code: int,
    counted: suite.Count | None,
    expected: suite.Count,
) -> None:
    def fake_run(*_args: Any, **_kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess([], exit_code)

    monkeypatch.setattr(subprocess, "run", fake_run)
    count, line = suite.run(suite.Step("unit", lambda: counted))
    assert count == expected
    assert line.startswith(f"unit: {expected.passed} passed, {expected.failed} failed")


@pytest.mark.xdist_group("suite")
def test_xdist_groups_take_effect_under_make_unit(request: pytest.FixtureRequest) -> None:
    # --dist loadgroup tells its scheduler a test's group through the test's id; when pytest
    # stopped reading that id (pytest 9.2, pytest-xdist#1386), the groups vanished silently.
    if getattr(request.config.option, "loadgroup", False):
        assert request.node.nodeid.endswith("@suite"), request.node.nodeid
