"""Redundant calls (design/evaluators.md §8.4) and tool errors.

A call is redundant when an earlier call with the same signature already finished ok: the agent asked for
something it had. A repeat after an error is recovery (a retry), not redundancy.
"""

from __future__ import annotations

from collections import defaultdict

from parsers.span import HANDOFF, OK

from .calls import ToolCall
from .findings import CRITICAL, WARN, Finding, first_line


def redundant_calls(calls: list[ToolCall]) -> list[Finding]:
    """One finding per repeated signature, on its first redundant call, listing every redundant span."""
    first_ok: dict[str, ToolCall] = {}
    redundant: dict[str, list[ToolCall]] = defaultdict(list)
    for call in calls:
        if call.kind == HANDOFF:
            continue
        signature = call.signature
        if signature in first_ok:
            redundant[signature].append(call)
        elif call.status == OK:
            first_ok[signature] = call
    findings = []
    for signature, repeats in redundant.items():
        original = first_ok[signature]
        findings.append(
            Finding(
                "efficiency.redundant_call",
                WARN,
                f"{original.describe()} repeated {len(repeats)}× after it already succeeded",
                repeats[0].span_id,
                evidence={"first_span_id": original.span_id, "span_ids": [c.span_id for c in repeats]},
            )
        )
    return findings


def tool_error_findings(calls: list[ToolCall], trace_failed: bool) -> list[Finding]:
    """Each failed tool call; critical when nothing recovered it (no later ok call of that tool) and the run failed."""
    findings = []
    for index, call in enumerate(calls):
        if call.status != "error":  # executed, or requested with an error result in the next request
            continue
        recovered = any(later.name == call.name and later.status == OK for later in calls[index + 1 :])
        severity = CRITICAL if trace_failed and not recovered else WARN
        detail = first_line(call.error) if call.error else "error"
        findings.append(
            Finding(
                "tool.error",
                severity,
                f"{call.name} failed: {detail}" + (" (recovered by a later call)" if recovered else ""),
                call.span_id,
            )
        )
    return findings
