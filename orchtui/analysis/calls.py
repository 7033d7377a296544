"""Ordered LLM calls and tool calls of a trace: the normalized view the detectors and evaluators read.

Tool calls come from executed tool spans (and retrievers and hand-offs, tagged by kind); a trace with no executed
tool spans falls back to the calls its LLMs requested (design/evaluators.md §8.0). Argument identity uses a
canonical JSON signature: sorted keys, compact, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from parsers.span import ERROR, HANDOFF, LLM, OK, RETRIEVER, TOOL, Span

CALL_KINDS = (TOOL, RETRIEVER, HANDOFF)


def canonical_json(value: Any) -> str:
    """Stable text for argument comparison; values JSON cannot encode fall back to their str()."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()
    except TypeError:
        return str(value)


@dataclass(slots=True)
class ToolCall:
    name: str
    args: Any
    kind: str  # tool | retriever | handoff
    status: str  # ok | error | unknown
    span_id: str | None
    start_ns: int | None = None
    result: str | None = None
    error: str | None = None
    call_id: str | None = None
    executed: bool = True  # False when only requested by an LLM (no tool span in the trace)

    @property
    def signature(self) -> str:
        return f"{self.name}{canonical_json(self.args)}"

    def describe(self) -> str:
        """`name{"arg": ...}` for explanations, the arguments cut to a readable length."""
        args = canonical_json(self.args)
        if len(args) > 80:
            args = args[:77] + "..."
        return f"{self.name}{args}" if isinstance(self.args, dict) else f"{self.name}({args})"


def tool_call_from_span(span: Span) -> ToolCall:
    if span.kind == TOOL:
        name = span.tool_name or span.name
        args = span.tool_args
    elif span.kind == HANDOFF:
        name = span.name
        args = None
    else:  # retriever: the query is its argument
        name = span.tool_name or span.name
        args = span.tool_args if span.tool_args is not None else span.input
    status = ERROR if span.status == ERROR else (OK if span.end_ns is not None else "unknown")
    return ToolCall(
        name=name,
        args=args,
        kind=span.kind,
        status=status,
        span_id=span.span_id,
        start_ns=span.start_ns,
        result=span.output,
        error=span.status_message if span.status == ERROR else None,
        call_id=span.tool_call_id,
    )


def tool_calls(ordered: list[Span]) -> list[ToolCall]:
    """Executed calls in start order; requested calls when nothing was executed. A retriever span inside a tool
    span is that tool's own work (a retriever tool's vector search), not a second call: only the tool counts."""
    by_id = {span.span_id: span for span in ordered}
    executed = [
        tool_call_from_span(span)
        for span in ordered
        if span.kind in CALL_KINDS and not (span.kind == RETRIEVER and _inside_tool(span, by_id))
    ]
    if executed:
        return executed
    requested = []
    for span in ordered:
        if span.kind != LLM:
            continue
        for request in span.requested_tool_calls:
            requested.append(
                ToolCall(
                    name=request.name,
                    args=request.arguments,
                    kind=TOOL,
                    status="unknown",
                    span_id=span.span_id,
                    start_ns=span.start_ns,
                    call_id=request.id,
                    executed=False,
                )
            )
    return requested


def _inside_tool(span: Span, by_id: dict[str, Span]) -> bool:
    seen = {span.span_id}
    parent = by_id.get(span.parent_id) if span.parent_id else None
    while parent is not None and parent.span_id not in seen:  # parent cycles are possible in broken input
        if parent.kind == TOOL:
            return True
        seen.add(parent.span_id)
        parent = by_id.get(parent.parent_id) if parent.parent_id else None
    return False


def llm_calls(ordered: list[Span]) -> list[Span]:
    return [span for span in ordered if span.kind == LLM]
