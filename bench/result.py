"""The one result shape every scenario returns, and the statistics they share.

A scenario reports a list of ``Metric``s: Sage's figure, the direct
baseline's figure measured in the same run, their ratio, and the target it
is held to. The JSON file and the Markdown table are both rendered from
these, so a new scenario only has to fill them in.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Better = Literal["lower", "higher"]


@dataclass
class Metric:
    """One figure. ``limit`` is the target: on ``ratio`` when ``on_ratio``,
    else on ``value``; ``better`` says which side of it passes. The baseline
    is the direct SDK unless ``versus`` and the metric's name say otherwise
    (lean direct, the lean relay)."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    limit: float | None = None
    on_ratio: bool = False
    better: Better = "lower"
    versus: str = "direct"
    """What the baseline is (a target on the ratio names it)."""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def target(self) -> str:
        if self.limit is None:
            return ""
        op = "≤" if self.better == "lower" else "≥"
        return (
            f"{op} {self.limit:g}× {self.versus}"
            if self.on_ratio
            else f"{op} {self.limit:g} {self.unit}"
        )

    @property
    def met(self) -> bool | None:
        if self.limit is None:
            return None
        figure = self.ratio if self.on_ratio else self.value
        if figure is None:
            return None
        return figure <= self.limit if self.better == "lower" else figure >= self.limit

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, target=self.target, met=self.met)
        return data


@dataclass
class ScenarioResult:
    name: str
    title: str
    params: dict[str, Any]
    metrics: list[Metric] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    """Correctness checks (the tool stopped, every session completed…): a
    benchmark whose work went wrong must not report a fast figure."""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str | None = None
    """Why the scenario did not run (a server it needs is not reachable)."""

    def add(self, metric: Metric) -> Metric:
        self.metrics.append(metric)
        return metric

    @property
    def ok(self) -> bool:
        return all(self.checks.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "params": self.params,
            "metrics": [m.to_json() for m in self.metrics],
            "checks": self.checks,
            "ok": self.ok,
            "notes": self.notes,
            "seconds": round(self.seconds, 2),
            "skipped": self.skipped,
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0–100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def ms(seconds: float) -> float:
    return seconds * 1000.0
