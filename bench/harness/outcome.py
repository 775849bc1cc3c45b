"""What a scenario is given, and what it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import REPO_ROOT
from bench.harness.drive import Load
from bench.harness.trees import CLAIMS_BEFORE_REF


@dataclass(frozen=True)
class Options:
    """What every scenario is given; the defaults are those of `python -m bench`."""

    load: Load = field(default_factory=Load)
    # Interleaved rounds of every load.
    rounds: int = 3
    output_dir: Path = REPO_ROOT / "build" / "bench"
    progress: Callable[[str], None] = print
    # The login storm: measured seconds per phase, and how many users log in at once.
    storm_seconds: float = 15.0
    storm_users: int = 100
    # The in-process memory scenario: how many users the store holds.
    memory_users: int = 100_000
    # flat-cost: rows of each kind in the large store (the small one holds 1,000).
    flat_rows: int = 1_000_000
    # soak: seconds of churn, seconds to wait after it, and extra server variables.
    soak_seconds: float = 600.0
    soak_settle: float = 120.0
    soak_env: tuple[tuple[str, str], ...] = ()
    # claims-cost: the commit whose tree is served as "before" beside the current one.
    before_ref: str = CLAIMS_BEFORE_REF


@dataclass(frozen=True)
class Target:
    """A threshold from the issue, the measured value, and whether it holds."""

    label: str
    value: float
    unit: str
    passed: bool


@dataclass(frozen=True)
class Measure:
    """One measured figure that is not a load run: a rate, a size, a count, a time."""

    label: str
    value: float
    unit: str


@dataclass(frozen=True)
class Bar:
    """One bar of a chart panel, with the range it spanned across rounds when known."""

    label: str
    value: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Chart:
    """One panel of the PNG; `line` draws a target across it."""

    title: str
    ylabel: str
    bars: list[Bar]
    line: float | None = None
    line_label: str = ""


@dataclass(frozen=True)
class Table:
    """A small text table: a title, column names, and rows of already formatted cells."""

    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class Outcome:
    """What a scenario reports: per-app medians, ratios, measures, targets, charts and notes."""

    name: str
    title: str
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    measures: list[Measure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    # Empty: the PNG shows the apps' requests per second, when there are apps.
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def at_least(label: str, value: float, threshold: float) -> Target:
    """Judge a ratio that must reach `threshold`."""
    return Target(f"{label} ≥ {threshold:g}x", value, "x", value >= threshold)


def at_most(label: str, value: float, threshold: float, unit: str) -> Target:
    """Judge a figure that must not exceed `threshold` (in `unit`)."""
    shown = f"{threshold:g}x" if unit == "x" else f"{threshold:g} {unit}"
    return Target(f"{label} ≤ {shown}", value, unit, value <= threshold)
