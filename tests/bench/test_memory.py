"""The memory scenario's scaling run, run small."""

from __future__ import annotations

import asyncio

import pytest

from bench.scenarios import memory


@pytest.mark.slow
def test_the_scaling_run_times_every_use_case_past_the_per_address_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its hundreds of logins come from one caller; a crash here once left `make bench` short.
    monkeypatch.setattr(memory, "OPERATIONS", 2 * memory.BLOCK)
    timings = asyncio.run(memory._scaling((10, 20)))
    assert set(timings) == set(memory.USE_CASES)
    assert all(len(samples) == 2 * memory.BLOCK for t in timings.values() for samples in t.values())
