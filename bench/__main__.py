"""Run the benchmark scenarios: `python -m bench [--scenario NAME] [--duration S] [--rounds N]`."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.harness.drive import Load, load_tool
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

DEFAULTS = Options()
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line; every default is `Options`'."""
    load = DEFAULTS.load
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--scenario",
        dest="scenarios",
        action="append",
        choices=[*SCENARIOS, "all"],
        help=f"repeatable; default {' '.join(DEFAULT_SCENARIOS)}",
    )
    parser.add_argument("--duration", type=float, default=load.duration, help="measured s per run")
    parser.add_argument(
        "--warmup", type=float, default=load.warmup, help="warm-up s before each run"
    )
    parser.add_argument("--rounds", type=int, default=DEFAULTS.rounds, help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=load.connections)
    parser.add_argument(
        "--timeout", type=float, default=load.timeout, help="s before a request fails"
    )
    parser.add_argument(
        "--storm-seconds",
        type=float,
        default=DEFAULTS.storm_seconds,
        help="login-storm: measured s of each phase (logins alone, then with GETs)",
    )
    parser.add_argument("--storm-users", type=int, default=DEFAULTS.storm_users, help="login-storm")
    parser.add_argument("--memory-users", type=int, default=DEFAULTS.memory_users, help="memory")
    parser.add_argument(
        "--flat-rows",
        type=int,
        default=DEFAULTS.flat_rows,
        help="flat-cost: rows of each kind in the large store (the small one holds 1,000)",
    )
    parser.add_argument(
        "--soak-seconds", type=float, default=DEFAULTS.soak_seconds, help="soak: seconds of churn"
    )
    parser.add_argument(
        "--soak-settle",
        type=float,
        default=DEFAULTS.soak_settle,
        help="soak: seconds to wait after the churn before the last sample",
    )
    parser.add_argument(
        "--soak-env",
        type=_name_value,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="soak: an extra variable for its servers, e.g. a purge interval; repeatable",
    )
    parser.add_argument(
        "--before-ref",
        default=DEFAULTS.before_ref,
        help="claims-cost: the git commit served as the project before the assurance claims",
    )
    parser.add_argument("--output-dir", type=Path, default=DEFAULTS.output_dir)
    args = parser.parse_args(argv)
    chosen = args.scenarios or DEFAULT_SCENARIOS
    every = [name for name in SCENARIOS if name not in OPT_IN_SCENARIOS]
    args.scenarios = every if "all" in chosen else list(dict.fromkeys(chosen))
    if args.flat_rows < 1000:
        parser.error("--flat-rows must be at least 1000")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios; exit 0 whatever the targets say, 1 if anything crashed."""
    args = parse_args(argv)
    options = Options(
        Load(args.duration, args.warmup, args.connections, args.timeout),
        args.rounds,
        args.output_dir,
        progress=_progress,
        storm_seconds=args.storm_seconds,
        storm_users=args.storm_users,
        memory_users=args.memory_users,
        flat_rows=args.flat_rows,
        soak_seconds=args.soak_seconds,
        soak_settle=args.soak_settle,
        soak_env=tuple(args.soak_env),
        before_ref=args.before_ref,
    )
    machine = machine_info()
    settings = {"tool": load_tool(), **vars(args)}
    print(header(machine, settings), flush=True)
    outcomes = []
    crashed = []
    # Two names may share one run (login-storm also reports storm-latency): run it once.
    runs: dict[Callable[[Options], list[Outcome]], str] = {}
    for name in args.scenarios:
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


def _name_value(variable: str) -> tuple[str, str]:
    name, equals, value = variable.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"takes NAME=VALUE, not {variable!r}")
    return name, value


def _progress(message: str) -> None:
    print(f"   {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
