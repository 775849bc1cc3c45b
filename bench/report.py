"""Print the results as tables, and write them as JSON and as a bar chart."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.outcome import Outcome

RESULTS_FILE = "results.json"
CHART_FILE = "throughput.png"


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
    if outcome.targets:
        lines += ["", f"{'target':<48} {'measured':>9}  result"]
        for target in outcome.targets:
            unit = target.unit if target.unit == "x" else f" {target.unit}"
            value = f"{target.value:.2f}{unit}"
            verdict = "PASS" if target.passed else "FAIL"
            lines.append(f"{target.label:<48} {value:>9}  {verdict}")
    if "hotspots" in outcome.extra:
        lines += ["", *_hotspot_lines(outcome.extra["hotspots"])]
    if outcome.notes:
        lines += ["", "notes:", *(f"  - {note}" for note in outcome.notes)]
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
    """Draw each scenario's median requests per second as bars, one panel per scenario."""
    # Imported here so that the text report never depends on a plotting backend.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charted = [outcome for outcome in outcomes if outcome.apps]
    if not charted:
        return
    figure, axes = plt.subplots(1, len(charted), figsize=(4.5 * len(charted), 3.6), squeeze=False)
    for axis, outcome in zip(axes[0], charted, strict=True):
        names = list(outcome.apps)
        medians = [float(outcome.apps[name]["rps"]) for name in names]
        rounds = [outcome.apps[name]["rps_by_round"] for name in names]
        # Rounds are stored rounded, so clamp: matplotlib refuses a negative error bar.
        spans = list(zip(medians, rounds, strict=True))
        lows = [max(0.0, median - min(values)) for median, values in spans]
        highs = [max(0.0, max(values) - median) for median, values in spans]
        bars = axis.bar(names, medians, yerr=[lows, highs], capsize=4, color="#4c72b0")
        axis.bar_label(bars, labels=[f"{value:,.0f}" for value in medians], padding=2)
        axis.set_title(outcome.name)
        axis.set_ylabel("requests/s (median, range of rounds)")
        axis.margins(y=0.15)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


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
