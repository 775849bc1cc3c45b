"""Print the results as tables, and write them as JSON and as a bar chart."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.harness.outcome import Bar, Chart, Outcome, Table, Target

RESULTS_FILE = "results.json"
CHART_FILE = "throughput.png"
CHART_COLUMNS = 3


def header(machine: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """Render the machine and the run's settings."""
    return "\n".join(
        [
            f"date      {machine['date']}",
            f"machine   {machine['nproc']} cores, {machine['cpu_model']}, "
            f"Linux {machine['kernel']}",
            f"python    {machine['python']}",
            f"load      {settings['tool']}, {settings['connections']} connections, "
            f"{settings['rounds']} interleaved rounds of {settings['warmup']:g} s warm-up + "
            f"{settings['duration']:g} s measured",
            f"storm     {settings['storm_users']} users, {settings['storm_seconds']:g} s per "
            f"phase; memory {settings['memory_users']:,} users",
            f"flat-cost {settings['flat_rows']:,} rows; soak {settings['soak_seconds']:g} s "
            f"of churn + {settings['soak_settle']:g} s to settle",
        ]
    )


def render(outcome: Outcome) -> str:
    """Render one scenario's table, ratios, targets and notes."""
    lines = [f"== {outcome.name}: {outcome.title}", ""]
    if outcome.apps:
        lines += _app_table(outcome.apps)
    if outcome.ratios:
        lines.append("")
        lines += [f"ratio {name:<22} {value:6.2f}x" for name, value in outcome.ratios.items()]
    if outcome.measures:
        width = max(len(measure.label) for measure in outcome.measures)
        lines.append("")
        lines += [
            f"{measure.label:<{width}}  {_number(measure.value):>10} {measure.unit}"
            for measure in outcome.measures
        ]
    for table in outcome.tables:
        lines += ["", *_table_lines(table)]
    if outcome.targets:
        lines += ["", f"{'target':<58} {'measured':>12}  result"]
        lines += [_target_line(target) for target in outcome.targets]
    if "hotspots" in outcome.extra:
        lines += ["", *_hotspot_lines(outcome.extra["hotspots"])]
    if outcome.notes:
        lines += ["", "notes:", *(f"  - {note}" for note in outcome.notes)]
    return "\n".join(lines)


def summary(outcomes: Sequence[Outcome]) -> str:
    """Render every target of every scenario, and how many pass."""
    targets = [(outcome.name, target) for outcome in outcomes for target in outcome.targets]
    passed = sum(target.passed for _, target in targets)
    lines = ["== summary: every target", "", f"{'scenario':<17} {'target':<58} {'measured':>12}"]
    lines += [f"{name:<17} {_target_line(target)}" for name, target in targets]
    lines += ["", f"{passed} of {len(targets)} targets pass"]
    return "\n".join(lines)


def write_json(
    path: Path, machine: Mapping[str, Any], settings: Mapping[str, Any], outcomes: list[Outcome]
) -> None:
    """Write everything measured to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "settings": settings,
        "scenarios": [dataclasses.asdict(outcome) for outcome in outcomes],
    }
    path.write_text(json.dumps(_finite(document), indent=2, default=str) + "\n")


def write_chart(path: Path, outcomes: list[Outcome]) -> None:
    """Draw every scenario's charts as bar panels: throughput by default, or its own charts."""
    # Imported here so that the text report never depends on a plotting backend.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts = [chart for outcome in outcomes for chart in charts_of(outcome)]
    if not charts:
        return
    columns = min(CHART_COLUMNS, len(charts))
    rows = -(-len(charts) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.8 * columns, 3.8 * rows), squeeze=False)
    for axis, chart in zip(axes.flat, charts, strict=False):
        _draw(axis, chart)
    for axis in list(axes.flat)[len(charts) :]:
        axis.set_visible(False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def charts_of(outcome: Outcome) -> list[Chart]:
    """Return a scenario's own charts, or its apps' median requests per second."""
    if outcome.charts or not outcome.apps:
        return outcome.charts
    bars = []
    for name, app in outcome.apps.items():
        rounds = app["rps_by_round"]
        bars.append(Bar(name, float(app["rps"]), min(rounds), max(rounds)))
    return [Chart(outcome.name, "requests/s (median, range of rounds)", bars)]


def _draw(axis: Any, chart: Chart) -> None:
    values = [bar.value for bar in chart.bars]
    # Rounds are stored rounded, so clamp: matplotlib refuses a negative error bar.
    lows = [max(0.0, bar.value - bar.low) if bar.low is not None else 0.0 for bar in chart.bars]
    highs = [max(0.0, bar.high - bar.value) if bar.high is not None else 0.0 for bar in chart.bars]
    drawn = axis.bar(
        [bar.label for bar in chart.bars],
        values,
        yerr=[lows, highs] if any(lows) or any(highs) else None,
        capsize=4,
        color="#4c72b0",
    )
    axis.bar_label(drawn, labels=[_number(value) for value in values], padding=2)
    if chart.line is not None:
        axis.axhline(chart.line, color="#c44e52", linestyle="--", linewidth=1)
        axis.annotate(
            chart.line_label,
            (0, chart.line),
            xycoords=("axes fraction", "data"),
            xytext=(2, 2),
            textcoords="offset points",
            color="#c44e52",
            fontsize=8,
        )
    axis.set_title(chart.title)
    axis.set_ylabel(chart.ylabel)
    axis.tick_params(axis="x", labelsize=8)
    axis.margins(y=0.15)


def short_count(count: int) -> str:
    """Write a count the way a chart label has room for: 1000 as 1k, 1000000 as 1M."""
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    return f"{count // 1000}k" if count >= 1000 else str(count)


def _app_table(apps: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = [
        f"{'app':<20} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'server CPU':>10} {'load CPU':>9} {'other CPU':>9}  req/s by round"
    ]
    for name, app in apps.items():
        by_round = " ".join(f"{value:,.0f}" for value in app["rps_by_round"])
        lines.append(
            f"{name:<20} {app['rps']:>9,.0f} {app['p50_ms']:>8.2f} {app['p99_ms']:>8.2f} "
            f"{app['errors']:>7} {_percent(app['server_cpu_pct']):>10} "
            f"{_percent(app['loadgen_cpu_pct']):>9} {_percent(app['other_cpu_pct']):>9}  "
            f"{by_round}"
        )
    return lines


def _table_lines(table: Table) -> list[str]:
    widths = [
        max(len(cell) for cell in column) for column in zip(table.columns, *table.rows, strict=True)
    ]

    # The first column is text, left-aligned; the others are figures, right-aligned.
    def line(cells: list[str]) -> str:
        first, *rest = zip(cells, widths, strict=True)
        return "  ".join([first[0].ljust(first[1]), *(cell.rjust(width) for cell, width in rest)])

    return [f"{table.title}:", line(table.columns), *(line(row) for row in table.rows)]


def _hotspot_lines(spots: Mapping[str, Any]) -> list[str]:
    per_request = spots.get("cpu_us_per_request")
    lines = [f"py-spy: {spots['samples']} samples of the event loop thread while busy"]
    if per_request:
        lines[0] += f"; the server spends {per_request:.0f} µs of CPU per request"
    if spots.get("other_thread_samples"):
        leaves = ", ".join(name for name, _ in spots["other_thread_leaves"])
        lines.append(
            f"left out: {spots['other_thread_samples']} samples of other threads ({leaves})"
        )
    sections: Sequence[tuple[str, str]] = (
        ("packages", "self time by package"),
        ("self", "self time by function"),
        ("owner", "self time charged to the innermost non-stdlib function"),
        ("inclusive", "inclusive time by function (frames on every stack left out)"),
    )
    for key, title in sections:
        lines += ["", f"{title}:"]
        for name, share in spots[key]:
            micro = f"{share / 100 * per_request:7.1f} µs" if per_request else ""
            lines.append(f"  {share:5.1f}% {micro}  {name}")
    return lines


def _target_line(target: Target) -> str:
    unit = target.unit if target.unit in ("x", "") else f" {target.unit}"
    verdict = "PASS" if target.passed else "FAIL"
    return f"{target.label:<58} {_number(target.value) + unit:>12}  {verdict}"


def _number(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"


def _finite(value: Any) -> Any:
    # JSON has no NaN: a percentile of no requests is written as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
