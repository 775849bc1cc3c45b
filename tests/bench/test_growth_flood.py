"""The growth-flood scenario, run small: it reaches both ceilings and reads 507 past them."""

from __future__ import annotations

import pytest

from bench.harness.outcome import Options
from bench.scenarios import growth_flood


@pytest.mark.slow
def test_a_small_flood_is_refused_with_507_past_both_ceilings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setattr(growth_flood, "FLOOD_USERS", 4)
    monkeypatch.setattr(growth_flood, "FLOOD_TASKS", 12)
    monkeypatch.setattr(growth_flood, "PAST_CEILING", 3)
    monkeypatch.setattr(growth_flood, "SESSIONS_PER_USER", 2)
    monkeypatch.setattr(
        growth_flood,
        "FLOOD_ENV",
        {**growth_flood.FLOOD_ENV, "MEMORY_STORE_MAX_USERS": "4", "MEMORY_STORE_MAX_TASKS": "12"},
    )
    monkeypatch.setattr(growth_flood, "_bytes_per_task", lambda count: 1.0)
    monkeypatch.setattr(growth_flood, "_bytes_per_user", lambda count: 1.0)
    [outcome] = growth_flood.run(Options(output_dir=tmp_path, progress=lambda line: None))  # type: ignore[arg-type]
    refusals = next(t for t in outcome.targets if "not refused with 507" in t.label)
    assert refusals.passed, refusals
    answers = dict(outcome.tables[1].rows)
    assert answers["register"] == '{"201": 3, "507": 4}'
    assert answers["task"] == '{"201": 12, "507": 3}'


def test_the_per_row_figures_stay_under_what_the_readme_documents() -> None:
    # Small counts: the figure per row is the same, and tracemalloc sees every byte.
    assert growth_flood._bytes_per_task(200) <= growth_flood.DOCUMENTED_BYTES_PER_TASK
    assert growth_flood._bytes_per_user(20) <= growth_flood.DOCUMENTED_BYTES_PER_USER
