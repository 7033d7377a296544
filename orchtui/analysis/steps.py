"""The steps of a trace as a route sees them: tool, retriever, hand-off and agent steps, and each LLM call's model.

Routes (`routes.py`) group traces by these steps' signatures and compare (`compare.py`) aligns two traces on them,
so both read one definition. A step's `key` ("tool:lookup_policy", "llm:gpt-4o") is what identifies it in a route;
its numbers (tokens, cost, latency) are what a comparison subtracts.

Agent steps are the non-root agent spans (sub-agents, crews' members): the root is the route's family. When a trace
executed no tool spans, the tool calls its LLMs requested stand in, right after the LLM call that asked for them
(the same fallback the evaluators use).

Steps are in the tree's display order (depth first, siblings by start time), not in flat start order: a parent
and its first child often start in the same nanosecond, and flat order puts the child first (it ends earlier), so
an agent would follow its own LLM call. Depth first also keeps concurrent sub-agents' steps apart instead of
interleaving them by timing, which would make one workflow look like a different path on every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from operator import attrgetter
from sys import intern
from typing import Any

from parsers.span import AGENT, HANDOFF, LLM, RETRIEVER, TOOL, Span

from .calls import ToolCall

STEP_KINDS = (TOOL, RETRIEVER, HANDOFF, AGENT, LLM)
UNKNOWN_MODEL = "?"
PATH_SEPARATOR = " > "
Signature = tuple[tuple[str, str], ...]  # (kind, name) of each step, in order


def step_key(kind: str, name: str) -> str:
    """What identifies a step in a route: kind and name (an LLM call's name is its model)."""
    return f"{kind}:{name}"


def step_label(kind: str, name: str) -> str:
    """Short display form: tools by bare name, everything else with its kind."""
    return name if kind == TOOL else f"{kind}:{name}"


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # tool | retriever | handoff | agent | llm
    name: str  # the tool / agent name; for an LLM call, its model (UNKNOWN_MODEL when not recorded)
    span_id: str | None
    args: Any = None  # tool arguments (parsed JSON when they parse)
    status: str = "unset"
    tokens: int | None = None  # total tokens of an LLM call
    cost_usd: float | None = None
    duration_ms: float | None = None
    executed: bool = True  # False for a tool call an LLM requested but no span shows run

    @property
    def key(self) -> str:
        return step_key(self.kind, self.name)

    @property
    def label(self) -> str:
        return step_label(self.kind, self.name)


@dataclass(frozen=True, slots=True)
class PathStep:
    """A run of consecutive identical steps, collapsed: `lookup_policy x4`."""

    key: str
    label: str
    count: int

    def __str__(self) -> str:
        return self.label if self.count == 1 else f"{self.label} x{self.count}"


def trace_steps(analysis: Any, *, with_args: bool = True) -> list[Step]:
    """The route steps of an analysed trace (a TraceAnalysis), in display order (module docstring). Without
    `with_args` no step carries its tool's arguments, which are payload: read back from the file for a trace whose
    payloads went back there (a route's step fail rates and kinds need only each step's key)."""
    costs = analysis.span_costs
    steps: list[Step] = []
    for kind, name, span, call in _step_sources(analysis):
        args = call.args if call is not None and with_args else None
        if span is None:  # a tool call an LLM requested, with no span to show it ran
            steps.append(Step(TOOL, name, None, args, "unknown", executed=False))
        elif kind == LLM:
            tokens = span.tokens.total if span.tokens is not None else None
            steps.append(Step(LLM, name, span.span_id, status=span.status, tokens=tokens, cost_usd=costs.get(span.span_id), duration_ms=_duration_ms(span)))
        else:
            steps.append(Step(kind, name, span.span_id, args, span.status, duration_ms=_duration_ms(span)))
    return steps


def step_signature(analysis: Any) -> Signature:
    """(kind, name) of each step, in order: all a route needs, without building Steps (a RouteBook reads every
    trace, so this is the hot path)."""
    return tuple([(kind, name) for kind, name, _, _ in _step_sources(analysis)])


def _step_sources(analysis: Any) -> Iterator[tuple[str, str, Span | None, ToolCall | None]]:
    """(kind, name, span, call) of each step in display order: the one place that decides what a step is."""
    tree = analysis.tree
    root = tree.root
    root_id = root.span_id if root is not None else None
    requested_by: dict[str, list[ToolCall]] = {}
    executed_by_span: dict[str, ToolCall] = {}
    for call in analysis.tool_calls:
        if call.span_id is None:
            continue
        if call.executed:
            executed_by_span[call.span_id] = call
        else:
            requested_by.setdefault(call.span_id, []).append(call)
    spans = tree.spans
    for node, _ in tree.walk():
        span = spans.get(node)  # None for the placeholder that holds orphans
        if span is None:
            continue
        if span.kind == LLM:
            yield LLM, span.model or UNKNOWN_MODEL, span, None
            for call in requested_by.get(span.span_id, ()):
                yield TOOL, call.name, None, call
        elif span.span_id in executed_by_span:
            call = executed_by_span[span.span_id]
            yield call.kind, call.name, span, call
        elif span.kind == AGENT and span.span_id != root_id:
            yield AGENT, span.agent_name or span.name, span, None


def runs(steps: list[Step]) -> list[list[Step]]:
    """The steps grouped into runs of consecutive steps with one key: each run is one path step."""
    return [list(run) for _, run in groupby(steps, key=attrgetter("key"))]


def collapse(steps: list[Step]) -> tuple[PathStep, ...]:
    """Consecutive repeats of one key become one path step with a count."""
    return path_of(tuple((step.kind, step.name) for step in steps))


def path_of(signature: Signature) -> tuple[PathStep, ...]:
    """A step signature collapsed: consecutive repeats of one (kind, name), i.e. one key, become one path step.
    A route book holds a path per trace, made of the same few steps: each step is made once and shared."""
    return tuple(_path_step(kind, name, sum(1 for _ in run)) for (kind, name), run in groupby(signature))


@lru_cache(maxsize=4096)
def _path_step(kind: str, name: str, count: int) -> PathStep:
    return PathStep(intern(step_key(kind, name)), intern(step_label(kind, name)), count)


def path_text(path: tuple[PathStep, ...]) -> str:
    return PATH_SEPARATOR.join(str(step) for step in path) if path else "(no steps)"


def models_of(signature: Signature) -> list[str]:
    """The models that served the trace's LLM calls, in first-use order (a fallback shows as a second model)."""
    return list(dict.fromkeys(name for kind, name in signature if kind == LLM and name != UNKNOWN_MODEL))


def _duration_ms(span: Span) -> float | None:
    duration = span.duration_ns
    return None if duration is None else duration / 1e6
