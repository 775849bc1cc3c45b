"""flat-cost, run small on the memory store."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from bench.harness.outcome import Options, Outcome
from bench.scenarios import flat_cost


@pytest.mark.slow
def test_flat_cost_times_every_endpoint_on_the_memory_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flat_cost, "ROUNDS", 1)
    monkeypatch.setattr(flat_cost, "OPERATIONS", [(op, 2) for op, _ in flat_cost.OPERATIONS])
    options = Options(rounds=1, output_dir=tmp_path, progress=lambda _: None)
    outcome = Outcome("flat-cost", "")
    timings = asyncio.run(flat_cost._memory((1000, 1500), options, outcome, io.StringIO()))
    assert set(timings) == {*flat_cost.ENDPOINTS, flat_cost.SCRAPE}
    assert all(seconds > 0 for by_size in timings.values() for seconds in by_size.values())
