"""The chained flows against a real project server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.harness import chains
from bench.harness.drive import Load
from bench.harness.servers import project_server
from bench.scenarios import pg_vs_memory


@pytest.mark.slow
@pytest.mark.parametrize("flow", chains.FLOWS)
def test_each_chained_flow_gets_only_its_expected_answers_from_the_project(
    flow: str, tmp_path: Path
) -> None:
    with project_server(
        "chain", cores=None, log_dir=tmp_path, env=pg_vs_memory.SERVER_ENV
    ) as server:
        load = Load(duration=0.5, warmup=0.2, connections=4)
        chain = chains.Chain(server.base_url, flow, load, sessions=5)
        result = asyncio.run(chains.run_chain(chain))
    assert result.requests > 0
    assert result.errors == 0
