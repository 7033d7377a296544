"""The route gate over a batch: a gate route's `[route.limits]` checked over all the inputs' traces on that route.

Per-trace evaluations say whether one run was good; a release regresses when a route's runs get worse as a group:
fewer of them pass, the slow tail grows, they cost more, they loop more often. Each limit becomes one result (and
one JUnit testcase), so CI shows which route and which limit blocked the release.

Only finished traces count (an in-progress run has no latency yet). A route no input trace matched gets `n/a`
results: the gate cannot say anything about a route it did not see, and saying "pass" would hide a missing run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .analysis.trace import FLAG_LOOP
from .evaluation import TraceEvaluation
from .gate import LIMITS, Route
from .stats import nearest_rank

LIMIT_LABELS = {
    "min_pass_rate": "pass rate",
    "max_p95_ms": "p95 latency",
    "max_cost_usd_per_trace": "cost per trace",
    "max_loop_rate": "loop rate",
}


@dataclass(frozen=True)
class LimitResult:
    route: Route
    limit: str  # a LIMITS key
    threshold: float
    value: float | None  # None when nothing measurable (no traces, no durations, no priced calls)
    traces: int
    explanation: str

    @property
    def passed(self) -> bool | None:
        if self.value is None:
            return None
        is_floor, _ = LIMITS[self.limit]
        return self.value >= self.threshold if is_floor else self.value <= self.threshold

    @property
    def label(self) -> str:
        return {True: "pass", False: "fail", None: "n/a"}[self.passed]

    def to_json(self) -> dict[str, Any]:
        return {
            "route": self.route.match,
            "limit": self.limit,
            "threshold": self.threshold,
            "value": None if self.value is None else round(self.value, 6),
            "traces": self.traces,
            "passed": self.passed,
            "label": self.label,
            "explanation": self.explanation,
        }


def limit_results(routes: list[Route], evaluations: list[TraceEvaluation]) -> list[LimitResult]:
    """One result per (route, limit) in gate order, measured over the finished traces evaluated on that route."""
    by_route: dict[int, list[TraceEvaluation]] = {}
    for evaluation in evaluations:
        if evaluation.route is not None and not evaluation.analysis.in_progress:
            by_route.setdefault(id(evaluation.route), []).append(evaluation)
    results = []
    for route in routes:
        batch = by_route.get(id(route), [])
        for limit, threshold in route.limits.items():
            value, detail = _measure(limit, batch)
            results.append(LimitResult(route, limit, threshold, value, len(batch), _explain(limit, threshold, value, detail, len(batch))))
    return results


def _measure(limit: str, batch: list[TraceEvaluation]) -> tuple[float | None, str]:
    """The limit's value over the batch and a few words on what it was computed from."""
    if not batch:
        return None, ""
    if limit == "min_pass_rate":
        passed = sum(1 for e in batch if e.passed)
        return passed / len(batch), f"{passed} of {len(batch)} traces passed every evaluator"
    if limit == "max_loop_rate":
        looped = sum(1 for e in batch if FLAG_LOOP in e.analysis.flags)
        return looped / len(batch), f"{looped} of {len(batch)} traces looped"
    if limit == "max_p95_ms":
        durations = sorted(d for e in batch if (d := e.analysis.duration_ms) is not None)
        if not durations:
            return None, "no trace has a duration"
        return nearest_rank(durations, 95), f"over {len(durations)} traces, slowest {_ms(durations[-1])}"
    costs = [c for e in batch if (c := e.analysis.cost_usd) is not None]
    if not costs:
        return None, "no trace has a priced model call"
    return sum(costs) / len(costs), f"mean over {len(costs)} priced traces, most expensive ${max(costs):.4f}"


def _explain(limit: str, threshold: float, value: float | None, detail: str, traces: int) -> str:
    name = LIMIT_LABELS[limit]
    if traces == 0:
        return f"{name}: no finished trace matched this route"
    if value is None:
        return f"{name}: not measurable ({detail})"
    shown, bound = _format(limit, value), _format(limit, threshold)
    is_floor, _ = LIMITS[limit]
    verdict = (value >= threshold) if is_floor else (value <= threshold)
    relation = (">=" if verdict else "<") if is_floor else ("<=" if verdict else ">")
    return f"{name} {shown} {relation} {'minimum' if is_floor else 'maximum'} {bound} ({detail})"


def _format(limit: str, value: float) -> str:
    if limit.endswith("_rate"):
        return f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"
    if limit == "max_p95_ms":
        return _ms(value)
    return f"${value:.4f}"


def _ms(value: float) -> str:
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
