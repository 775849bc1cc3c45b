"""The benchmark harness's own parts: its HTTP client, its /proc readings, its report."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest

from bench.harness import chains, client, loadgen
from bench.harness.cpu import tree_rss_bytes
from bench.harness.drive import Load
from bench.harness.outcome import Options, Outcome, Table
from bench.harness.report import render
from bench.harness.servers import project_server
from bench.scenarios import flat_cost, memory, pg_vs_memory


async def test_the_client_reads_a_no_content_answer_and_keeps_its_connection() -> None:
    # uvicorn answers 204 without Content-Length, as logout does.
    answers = [b"HTTP/1.1 204 No Content\r\ndate: now\r\n\r\n", _ok(b'{"a":1}')]
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        for answer in answers:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = client.Connection(f"http://127.0.0.1:{port}")
    try:
        logout = await connection.send(connection.request("POST", "/logout"), 5)
        profile = await connection.send(connection.request("GET", "/profile"), 5)
    finally:
        connection.close()
        server.close()
    assert logout == (204, b"")
    assert profile == (200, b'{"a":1}')
    assert connections == 1


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n", client.Head(200, 12, False, False)),
        # The closed loop hands over the head without its blank line.
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 7", client.Head(404, 7, False, False)),
        (b"HTTP/1.1 204 No Content\r\ndate: now\r\n\r\n", client.Head(204, 0, False, False)),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            client.Head(200, None, True, False),
        ),
        (
            b"HTTP/1.1 503 Busy\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            client.Head(503, 0, False, True),
        ),
    ],
)
def test_both_connections_read_a_response_head_the_same_way(
    head: bytes, expected: client.Head
) -> None:
    assert client.parse_head(head) == expected


async def test_the_closed_loop_counts_chunked_and_sized_answers_and_their_statuses() -> None:
    answered = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                answered += 1
                if answered % 2:
                    writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                    writer.write(b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n")
                else:
                    writer.write(_ok(b"{}").replace(b"200 OK", b"404 Not Found"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        load = Load(duration=0.5, warmup=0.1, connections=1)
        result = await loadgen.generate(f"http://127.0.0.1:{port}/profile", {}, load)
    finally:
        server.close()
    # One connection alternates: half the answers measured are 404s, give or take one.
    assert result.requests > 10
    assert abs(result.non_200 - result.requests / 2) <= 1
    assert result.socket_errors == result.timeouts == 0


def test_resident_memory_of_this_process_is_read_from_proc() -> None:
    status = Path("/proc/self/status").read_text()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    measured = tree_rss_bytes(os.getpid())
    assert 0.5 * kib * 1024 < measured < 2 * kib * 1024


def test_a_table_renders_with_its_title_and_aligned_columns() -> None:
    outcome = Outcome(
        "soak", "a title", tables=[Table("samples", ["t", "RSS MiB"], [["0 start", "71.6"]])]
    )
    lines = render(outcome).splitlines()
    at = lines.index("samples:")
    assert lines[at + 1 : at + 3] == ["t        RSS MiB", "0 start     71.6"]


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


@pytest.mark.slow
def test_the_scaling_run_times_every_use_case_past_the_per_address_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its hundreds of logins come from one caller; a crash here once left `make bench` short.
    monkeypatch.setattr(memory, "OPERATIONS", 2 * memory.BLOCK)
    timings = asyncio.run(memory._scaling((10, 20)))
    assert set(timings) == set(memory.USE_CASES)
    assert all(len(samples) == 2 * memory.BLOCK for t in timings.values() for samples in t.values())


def _ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body


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
