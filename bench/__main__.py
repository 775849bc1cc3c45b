"""Run the benchmark scenarios: `python -m bench [--scenario NAME] [--duration S] [--rounds N]`."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import REPO_ROOT
from bench.harness.drive import Load, load_tool
from bench.harness.loadgen import CONNECTIONS, TIMEOUT, WARMUP
from bench.harness.machine import machine_info
from bench.harness.outcome import Options, Outcome
from bench.harness.report import (
    CHART_FILE,
    RESULTS_FILE,
    header,
    render,
    summary,
    write_chart,
    write_json,
)
from bench.scenarios import SCENARIOS

DURATION = 8.0
ROUNDS = 3
STORM_SECONDS = 15.0
STORM_USERS = 100
MEMORY_USERS = 100_000
FLAT_ROWS = 1_000_000
SOAK_SECONDS = 600.0
# A failure counter's window (36 s) plus the purge interval (60 s), and a margin.
SOAK_SETTLE = 120.0
# The default run, about 15 minutes; `all` adds flat-cost and the py-spy profiles.
DEFAULT_SCENARIOS = [
    "protected-get",
    "pg-workers",
    "pg-vs-memory",
    "login-storm",
    "metrics-overhead",
    "memory",
    "in-process",
]
# Only when named, not even with `all`: the soak lasts --soak-seconds (ten minutes) and more.
OPT_IN_SCENARIOS = ["soak"]
OUTPUT_DIR = REPO_ROOT / "build" / "bench"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line; every default is a constant at the top of this module."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, "all"],
        help=f"repeatable; default {' '.join(DEFAULT_SCENARIOS)}",
    )
    parser.add_argument("--duration", type=float, default=DURATION, help="measured s per run")
    parser.add_argument("--warmup", type=float, default=WARMUP, help="warm-up s before each run")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="s before a request fails")
    parser.add_argument(
        "--storm-seconds",
        type=float,
        default=STORM_SECONDS,
        help="login-storm: measured s of each phase (logins alone, then with GETs)",
    )
    parser.add_argument("--storm-users", type=int, default=STORM_USERS, help="login-storm")
    parser.add_argument("--memory-users", type=int, default=MEMORY_USERS, help="memory")
    parser.add_argument(
        "--flat-rows",
        type=int,
        default=FLAT_ROWS,
        help="flat-cost: rows of each kind in the large store (the small one holds 1,000)",
    )
    parser.add_argument(
        "--soak-seconds", type=float, default=SOAK_SECONDS, help="soak: seconds of churn"
    )
    parser.add_argument(
        "--soak-settle",
        type=float,
        default=SOAK_SETTLE,
        help="soak: seconds to wait after the churn before the last sample",
    )
    parser.add_argument(
        "--soak-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="soak: an extra variable for its servers, e.g. a purge interval; repeatable",
    )
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR)
    args = parser.parse_args(argv)
    chosen = args.scenario or DEFAULT_SCENARIOS
    every = [name for name in SCENARIOS if name not in OPT_IN_SCENARIOS]
    args.scenario = every if "all" in chosen else list(dict.fromkeys(chosen))
    if args.flat_rows < 1000:
        parser.error("--flat-rows must be at least 1000")
    for variable in args.soak_env:
        if "=" not in variable:
            parser.error(f"--soak-env takes NAME=VALUE, not {variable!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios; exit 0 whatever the targets say, 1 if anything crashed."""
    args = parse_args(argv)
    load = Load(args.duration, args.warmup, args.connections, args.timeout)
    options = Options(
        load,
        args.rounds,
        args.output_dir,
        progress=_progress,
        storm_seconds=args.storm_seconds,
        storm_users=args.storm_users,
        memory_users=args.memory_users,
        flat_rows=args.flat_rows,
        soak_seconds=args.soak_seconds,
        soak_settle=args.soak_settle,
        soak_env=tuple((name, value) for name, _, value in map(_split, args.soak_env)),
    )
    machine = machine_info()
    settings = {
        "tool": load_tool(),
        "scenarios": args.scenario,
        "duration": args.duration,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "connections": args.connections,
        "timeout": args.timeout,
        "storm_seconds": args.storm_seconds,
        "storm_users": args.storm_users,
        "memory_users": args.memory_users,
        "flat_rows": args.flat_rows,
        "soak_seconds": args.soak_seconds,
        "soak_settle": args.soak_settle,
        "soak_env": args.soak_env,
    }
    print(header(machine, settings), flush=True)
    outcomes = []
    crashed = []
    # Two names may share one run (login-storm also reports storm-latency): run it once.
    runs: dict[Callable[[Options], list[Outcome]], str] = {}
    for name in args.scenario:
        runs.setdefault(SCENARIOS[name], name)
    for scenario, name in runs.items():
        print(f"\n-- running {name}", flush=True)
        try:
            reported = scenario(options)
        except Exception:
            traceback.print_exc()
            print(f"\nbench: scenario {name} crashed", file=sys.stderr, flush=True)
            crashed.append(name)
            continue
        for outcome in reported:
            print("\n" + render(outcome), flush=True)
        outcomes += reported
    print("\n" + summary(outcomes), flush=True)
    if crashed:
        print(f"crashed (no targets judged): {', '.join(crashed)}", flush=True)
    write_json(args.output_dir / RESULTS_FILE, machine, settings, outcomes)
    write_chart(args.output_dir / CHART_FILE, outcomes)
    print(f"\nwrote {args.output_dir / RESULTS_FILE} and {args.output_dir / CHART_FILE}")
    return 1 if crashed else 0


def _split(variable: str) -> tuple[str, str, str]:
    return variable.partition("=")


def _progress(message: str) -> None:
    print(f"   {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
