"""What a scenario is given, and what it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.drive import Load


@dataclass(frozen=True)
class Options:
    """What every scenario is given: the load shape, the rounds, and where files go."""

    load: Load
    rounds: int
    output_dir: Path
    progress: Callable[[str], None] = print


@dataclass(frozen=True)
class Target:
    """A threshold from the issue, the measured value, and whether it holds."""

    label: str
    value: float
    unit: str
    passed: bool


@dataclass
class Outcome:
    """What a scenario reports: per-app medians, ratios, targets and notes."""

    name: str
    title: str
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def at_least(label: str, value: float, threshold: float) -> Target:
    """Judge a ratio that must reach `threshold`."""
    return Target(f"{label} ≥ {threshold:g}x", value, "x", value >= threshold)
