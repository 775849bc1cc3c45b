"""The text report."""

from __future__ import annotations

from bench.harness.outcome import Outcome, Table
from bench.harness.report import render


def test_a_table_renders_with_its_title_and_aligned_columns() -> None:
    outcome = Outcome(
        "soak", "a title", tables=[Table("samples", ["t", "RSS MiB"], [["0 start", "71.6"]])]
    )
    lines = render(outcome).splitlines()
    at = lines.index("samples:")
    assert lines[at + 1 : at + 3] == ["t        RSS MiB", "0 start     71.6"]
