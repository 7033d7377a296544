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

from dataclasses import dataclass
from typing import Any

from parsers.span import AGENT, HANDOFF, LLM, RETRIEVER, TOOL, Span

from .calls import ToolCall

STEP_KINDS = (TOOL, RETRIEVER, HANDOFF, AGENT, LLM)
UNKNOWN_MODEL = "?"
PATH_SEPARATOR = " > "


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
        """What identifies the step in a route: kind and name (an LLM call's name is its model)."""
        return f"{self.kind}:{self.name}"

    @property
    def label(self) -> str:
        """Short display form: tools by bare name, everything else with its kind."""
        return self.name if self.kind == TOOL else self.key


@dataclass(frozen=True, slots=True)
class PathStep:
    """A run of consecutive identical steps, collapsed: `lookup_policy x4`."""

    key: str
    label: str
    count: int

    def __str__(self) -> str:
        return self.label if self.count == 1 else f"{self.label} x{self.count}"


def trace_steps(analysis: Any) -> list[Step]:
    """The route steps of an analysed trace (a TraceAnalysis), in display order (module docstring)."""
    tree = analysis.tree
    root = tree.root
    root_id = root.span_id if root is not None else None
    requested_by: dict[str, list[ToolCall]] = {}
    executed_by_span: dict[str, ToolCall] = {}
    for call in analysis.tool_calls:
        if call.executed and call.span_id is not None:
            executed_by_span[call.span_id] = call
        elif not call.executed and call.span_id is not None:
            requested_by.setdefault(call.span_id, []).append(call)
    steps: list[Step] = []
    spans = tree.spans
    for node, _ in tree.walk():
        span = spans.get(node)  # None for the placeholder that holds orphans
        if span is None:
            continue
        if span.kind == LLM:
            steps.append(_llm_step(span, analysis.span_costs.get(span.span_id)))
            for call in requested_by.get(span.span_id, ()):
                steps.append(Step(TOOL, call.name, None, call.args, "unknown", executed=False))
        elif span.span_id in executed_by_span:
            call = executed_by_span[span.span_id]
            steps.append(Step(call.kind, call.name, span.span_id, call.args, span.status, duration_ms=_duration_ms(span)))
        elif span.kind == AGENT and span.span_id != root_id:
            name = span.agent_name or span.name
            steps.append(Step(AGENT, name, span.span_id, status=span.status, duration_ms=_duration_ms(span)))
    return steps


def runs(steps: list[Step]) -> list[list[Step]]:
    """The steps grouped into runs of consecutive steps with one key: each run is one path step."""
    grouped: list[list[Step]] = []
    for step in steps:
        if grouped and grouped[-1][0].key == step.key:
            grouped[-1].append(step)
        else:
            grouped.append([step])
    return grouped


def collapse(steps: list[Step]) -> tuple[PathStep, ...]:
    """Consecutive repeats of one key become one path step with a count."""
    return tuple(PathStep(run[0].key, run[0].label, len(run)) for run in runs(steps))


def path_text(path: tuple[PathStep, ...]) -> str:
    return PATH_SEPARATOR.join(str(step) for step in path) if path else "(no steps)"


def models_of(steps: list[Step]) -> list[str]:
    """The models that served the trace's LLM calls, in first-use order (a fallback shows as a second model)."""
    seen: dict[str, None] = {}
    for step in steps:
        if step.kind == LLM and step.name != UNKNOWN_MODEL:
            seen.setdefault(step.name, None)
    return list(seen)


def _llm_step(span: Span, cost: float | None) -> Step:
    tokens = span.tokens.total if span.tokens is not None else None
    return Step(LLM, span.model or UNKNOWN_MODEL, span.span_id, status=span.status, tokens=tokens, cost_usd=cost, duration_ms=_duration_ms(span))


def _duration_ms(span: Span) -> float | None:
    duration = span.duration_ns
    return None if duration is None else duration / 1e6
