"""Which step of a route its evaluations fail on: the evaluator fail rate per path step, over a batch.

A route's numbers (`analysis.routes`) say that a path is slow or expensive; a gate run's evaluations say that runs
fail. This module joins the two, so `orchtui routes --spec` can say *where* a route's runs fail: "StopReason fails
on `llm:gpt-4o` in 12% of refund_request runs", rather than only that they fail.

Definitions (over a list of `TraceEvaluation`s):

- Only finished traces count; each is placed on its route exactly as `RouteBook` places it (`route_id` of the root
  span name and the collapsed path), so the results join the routes rows by `route_id`. A trace still in progress
  is left out: its path may still change.
- A result *fails* when `EvalResult.passed is False` (label warn or fail). Passing and n/a results never count.
- A failing result *lands on* path step i when one of its findings has a `span_id` that is the span of one of the
  steps collapsed into step i (`lookup_policy x4` owns its four tool spans; an LLM step owns its call's span, which
  is also where an LLM's requested-but-never-run tool calls point). Only the finding's own `span_id` is read, not
  lists of spans in its evidence: that span is where the evaluator points. A result can land on several steps.
- A failing result with no finding on any step span (no findings, `span_id` None, or the root, a chain or a
  guardrail span) is *trace-level*.

Per route, `traces` is the number of its finished evaluated traces (the denominator), and for each path step (and
for the trace level) `failed_traces` is the number of those traces with at least one failing result landing there,
`rate` = failed_traces / traces, and `evaluators` maps each evaluator name to the number of traces in which it
failed there. A trace counts once per step however many findings land on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .analysis.routes import route_id
from .analysis.steps import PathStep, Step, collapse, path_text, runs, trace_steps

if TYPE_CHECKING:
    from .evals.result import EvalResult
    from .evaluation import TraceEvaluation

TRACE_LEVEL = None  # the position of failures that name no step


@dataclass(frozen=True)
class StepFailRate:
    """How often a route's evaluations fail on one path step (`step` None: on no step, the trace level)."""

    index: int | None  # position in the route's path; None for the trace level
    step: PathStep | None
    traces: int  # the route's finished evaluated traces
    failed_traces: int  # of those, traces with a failing result landing here
    evaluators: dict[str, int] = field(default_factory=dict)  # evaluator -> traces it failed here; most first

    @property
    def rate(self) -> float:
        return self.failed_traces / self.traces if self.traces else 0.0

    def to_json(self) -> dict[str, Any]:
        step = self.step
        return {
            "index": self.index,
            "key": None if step is None else step.key,
            "label": None if step is None else str(step),
            "failed_traces": self.failed_traces,
            "traces": self.traces,
            "rate": round(self.rate, 4),
            "evaluators": dict(self.evaluators),
        }


@dataclass(frozen=True)
class RouteStepFailures:
    """One route's fail rates: one entry per path step, in path order, and the trace level."""

    route_id: str
    family: str
    path: tuple[PathStep, ...]
    traces: int
    steps: list[StepFailRate]
    trace_level: StepFailRate

    @property
    def path_text(self) -> str:
        return path_text(self.path)

    @property
    def worst(self) -> StepFailRate | None:
        """The step most traces fail on (the earliest on a tie); None when no evaluation failed on a step."""
        worst = max(self.steps, key=lambda rate: rate.failed_traces, default=None)
        return worst if worst is not None and worst.failed_traces else None

    def to_json(self) -> dict[str, Any]:
        return {
            "route_id": self.route_id,
            "family": self.family,
            "path_text": self.path_text,
            "traces": self.traces,
            "steps": [rate.to_json() for rate in self.steps],
            "trace_level": self.trace_level.to_json(),
        }


class _Tally:
    """Counts for one route while the batch is read."""

    __slots__ = ("family", "path", "traces", "failed", "evaluators")

    def __init__(self, family: str, path: tuple[PathStep, ...]) -> None:
        self.family = family
        self.path = path
        self.traces = 0
        self.failed: dict[int | None, int] = {}
        self.evaluators: dict[int | None, dict[str, int]] = {}

    def add(self, landings: dict[int | None, set[str]]) -> None:
        self.traces += 1
        for position, names in landings.items():
            self.failed[position] = self.failed.get(position, 0) + 1
            counts = self.evaluators.setdefault(position, {})
            for name in names:
                counts[name] = counts.get(name, 0) + 1

    def rate(self, position: int | None) -> StepFailRate:
        step = None if position is None else self.path[position]
        counts = self.evaluators.get(position, {})
        ordered = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        return StepFailRate(position, step, self.traces, self.failed.get(position, 0), ordered)


def step_fail_rates(evaluations: Iterable[TraceEvaluation]) -> dict[str, RouteStepFailures]:
    """Per route (keyed by `route_id`, in first-seen order), the fail rate of every path step and of the trace
    level, as the module docstring defines them."""
    tallies: dict[str, _Tally] = {}
    for evaluation in evaluations:
        analysis = evaluation.analysis
        if analysis.in_progress:
            continue
        steps = trace_steps(analysis, with_args=False)
        path = collapse(steps)
        key = route_id(analysis.name, path)
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = _Tally(analysis.name, path)
        tally.add(landings(evaluation.results, step_positions(steps)))
    return {
        key: RouteStepFailures(
            key, tally.family, tally.path, tally.traces, [tally.rate(i) for i in range(len(tally.path))], tally.rate(TRACE_LEVEL)
        )
        for key, tally in tallies.items()
    }


def step_positions(steps: list[Step]) -> dict[str, int]:
    """span id -> the position in the collapsed path of the step that span is (the same runs `collapse` makes)."""
    positions: dict[str, int] = {}
    for position, run in enumerate(runs(steps)):
        for step in run:
            if step.span_id is not None:
                positions[step.span_id] = position
    return positions


def landings(results: list[EvalResult], positions: dict[str, int]) -> dict[int | None, set[str]]:
    """Path position (None: trace level) -> the evaluators whose failing result lands there, for one trace."""
    landed: dict[int | None, set[str]] = {}
    for result in results:
        if result.passed is not False:
            continue
        hits = {positions[f.span_id] for f in result.findings if f.span_id is not None and f.span_id in positions}
        for position in hits or {TRACE_LEVEL}:
            landed.setdefault(position, set()).add(result.evaluator)
    return landed
