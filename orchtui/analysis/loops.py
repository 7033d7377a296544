"""Loop detectors D1, D2, D3 and D6 of design/evaluators.md §8.5.

They read the ordered call sequence (tools, retrievers, hand-offs) and the spans' error texts. Thresholds are
parameters so the LoopDetection evaluator can expose them as options; the defaults are the spec's.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict

from parsers.span import Span

from .calls import ToolCall
from .findings import CRITICAL, WARN, Finding, error_text, first_line

# Framework messages that mean "the agent loop hit its runtime cap" (D6), by framework: the Agents SDK export
# ("Max turns exceeded", MaxTurnsExceeded), LangGraph (GraphRecursionError, "Recursion limit of N reached"),
# LlamaIndex workflows ("Max iterations of N reached!"), pydantic-ai (UsageLimitExceeded: request_limit),
# Google ADK (LlmCallsLimitExceededError), the Claude Agent SDK (result subtype error_max_turns), smolagents
# (AgentMaxStepsError, "Reached max steps"), CrewAI and LangChain agents ("Agent stopped due to iteration limit").
RUNTIME_LIMIT = re.compile(
    r"MaxTurnsExceeded|GraphRecursionError|recursion[ _]limit|max(?:imum)?[ _]?(?:turns|iterations|steps)"
    r"[ _]?(?:exceeded|reached)|max(?:imum)? (?:turns|iterations|steps) of \d+ (?:exceeded|reached)"
    r"|agent stopped due to (?:iteration|time) limit|UsageLimitExceeded|LlmCallsLimitExceeded|error_max_turns"
    r"|AgentMaxStepsError|reached max(?:imum)? (?:steps|turns|iterations)",
    re.IGNORECASE,
)


def repeated_calls(calls: list[ToolCall], threshold: int = 3) -> list[Finding]:
    """D1: one signature called >= threshold times (warn), >= 2x threshold (critical)."""
    positions: dict[str, list[int]] = defaultdict(list)
    for index, call in enumerate(calls):
        positions[call.signature].append(index)
    findings = []
    for indexes in positions.values():
        count = len(indexes)
        if count < threshold:
            continue
        call = calls[indexes[0]]
        consecutive = indexes[-1] - indexes[0] == count - 1
        steps = f"steps {indexes[0] + 1}–{indexes[-1] + 1}{' consecutive' if consecutive else ''}"
        findings.append(
            Finding(
                code="loop.repeated_call",
                severity=CRITICAL if count >= 2 * threshold else WARN,
                message=f"{call.describe()} called {count}× with identical args (threshold {threshold}, {steps})",
                span_id=calls[indexes[threshold - 1]].span_id,
                evidence={"count": count, "span_ids": [calls[i].span_id for i in indexes], "name": call.name},
            )
        )
    return findings


def short_cycles(
    calls: list[ToolCall], warn_cycles: int = 3, critical_cycles: int = 4, periods: tuple[int, ...] = (2, 3, 4)
) -> list[Finding]:
    """D2: a contiguous window repeating a block of 2-4 calls (with >= 2 distinct signatures)."""
    signatures = [call.signature for call in calls]
    best: tuple[int, int, int] | None = None  # (cycles, period, start)
    for period in periods:
        run = 0
        for i in range(len(signatures) - period + 1):
            matches = i + period < len(signatures) and signatures[i] == signatures[i + period]
            if matches:
                run += 1
                continue
            if run:
                start = i - run
                cycles = (run + period) // period
                block = signatures[start : start + period]
                if cycles >= warn_cycles and len(set(block)) >= 2 and not _has_smaller_period(block):
                    if best is None or cycles > best[0]:
                        best = (cycles, period, start)
            run = 0
    if best is None:
        return []
    cycles, period, start = best
    names = " → ".join(calls[start + k].name for k in range(period))
    return [
        Finding(
            code="loop.cycle",
            severity=CRITICAL if cycles >= critical_cycles else WARN,
            message=f"cycle {names} repeated {cycles}× (steps {start + 1}–{start + cycles * period})",
            span_id=calls[start + period].span_id,
            evidence={"cycles": cycles, "period": period, "span_ids": [c.span_id for c in calls[start : start + cycles * period]]},
        )
    ]


def _has_smaller_period(block: list[str]) -> bool:
    size = len(block)
    return any(size % p == 0 and block == block[:p] * (size // p) for p in range(1, size))


def no_progress(
    calls: list[ToolCall], warn_count: int = 5, critical_count: int = 10, skip_names: frozenset[str] = frozenset()
) -> list[Finding]:
    """D3: one tool called >= 5 times (any args) getting the identical result every time."""
    by_name: dict[str, Counter[str]] = defaultdict(Counter)
    spans_by_key: dict[tuple[str, str], list[str | None]] = defaultdict(list)
    for call in calls:
        if call.result is None or call.name in skip_names:
            continue
        digest = hashlib.blake2b(call.result.encode("utf-8", "replace"), digest_size=8).hexdigest()
        by_name[call.name][digest] += 1
        spans_by_key[(call.name, digest)].append(call.span_id)
    findings = []
    for name, counter in by_name.items():
        digest, count = counter.most_common(1)[0]
        if count < warn_count:
            continue
        span_ids = spans_by_key[(name, digest)]
        findings.append(
            Finding(
                code="loop.no_progress",
                severity=CRITICAL if count >= critical_count else WARN,
                message=f"{name} called {count}× and returned the identical result each time (no progress)",
                span_id=span_ids[warn_count - 1],
                evidence={"count": count, "span_ids": span_ids, "name": name},
            )
        )
    return findings


# Agent spans that state their step cap, and the name of their step children (smolagents writes no error when it
# runs out of steps: it asks the model for a last answer without tools).
STEP_LIMIT_KEYS = ("smolagents.max_steps",)
STEP_NAME = re.compile(r"Step \d+$")


def step_limit(ordered: list[Span]) -> list[Finding]:
    """D6 for agents that stop quietly at their step cap: as many steps ran as the agent span says it allows."""
    findings = []
    for span in ordered:
        attributes, limit = span.attributes, None
        for key in STEP_LIMIT_KEYS:  # a plain loop: asked of every span of every trace, nearly always in vain
            if key in attributes:
                limit = attributes[key]
                break
        try:
            limit = int(limit) if limit is not None else None
        except (TypeError, ValueError):
            limit = None
        if not limit:
            continue
        steps = sum(1 for child in ordered if child.parent_id == span.span_id and STEP_NAME.match(child.name))
        if steps >= limit:
            findings.append(
                Finding(
                    code="loop.runtime_limit",
                    severity=CRITICAL,
                    message=f"runtime loop cap hit in {span.name!r}: {steps} of at most {limit} steps ran",
                    span_id=span.span_id,
                    evidence={"match": f"max_steps={limit}"},
                )
            )
    return findings


def runtime_limit(ordered: list[Span]) -> list[Finding]:
    """D6: the framework's own loop cap fired (max turns, recursion limit): one finding, on the innermost span."""
    quiet = step_limit(ordered)
    if quiet:
        return quiet[:1]
    hits = []
    for span in ordered:
        text = error_text(span)
        if text:
            match = RUNTIME_LIMIT.search(text)
            if match:
                hits.append((span, text, match))
    if not hits:
        return []
    span, text, match = min(hits, key=lambda h: h[0].end_ns if h[0].end_ns is not None else float("inf"))
    return [
        Finding(
            code="loop.runtime_limit",
            severity=CRITICAL,
            message=f"runtime loop cap hit in {span.name!r}: {first_line(text) or match.group(0)}",
            span_id=span.span_id,
            evidence={"match": match.group(0)},
        )
    ]


def detect_loops(calls: list[ToolCall], ordered: list[Span]) -> list[Finding]:
    """D1 + D2 + D3 + D6 with the spec's defaults. D3 skips tools D1 already flagged (same evidence twice)."""
    findings = repeated_calls(calls)
    flagged = frozenset(f.evidence["name"] for f in findings)
    findings += short_cycles(calls)
    findings += no_progress(calls, skip_names=flagged)
    findings += runtime_limit(ordered)
    return findings
