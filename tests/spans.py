"""Build normalized spans and analysed traces by hand for unit tests of the engine."""

from __future__ import annotations

import itertools
from typing import Any

from orchtui.analysis import TraceAnalysis, analyze
from orchtui.store import SpanStore
from parsers.conventions import stop_reason_of
from parsers.span import LLM, OK, TOOL, Message, Span, Tokens, ToolCallRequest

_ids = itertools.count(1)


def span(
    name: str,
    parent: str | None = None,
    *,
    kind: str = "chain",
    trace: str = "t1",
    span_id: str | None = None,
    start: int | None = None,
    end: int | None = None,
    status: str = OK,
    **fields: Any,
) -> Span:
    number = next(_ids)
    start = start if start is not None else number * 1000
    return Span(
        trace_id=trace,
        span_id=span_id or f"s{number}",
        parent_id=parent,
        name=name,
        kind=kind,
        start_ns=start,
        end_ns=end if end is not None else start + 500,
        status=status,
        **fields,
    )


def tool(name: str, args: Any, parent: str | None = "root", *, result: str | None = "ok", **fields: Any) -> Span:
    return span(name, parent, kind=TOOL, tool_name=name, tool_args=args, output=result, **fields)


def llm(
    parent: str | None = "root",
    *,
    finish: tuple[str, ...] = ("stop",),
    content: str | None = "answer",
    calls: list[tuple[str, Any]] = (),
    model: str = "gpt-4o-mini",
    tokens: Tokens | None = None,
    **fields: Any,
) -> Span:
    result = span(
        "chat",
        parent,
        kind=LLM,
        model=model,
        finish_reasons=tuple(finish),
        stop_reason=stop_reason_of(tuple(finish)),
        tokens=tokens,
        **fields,
    )
    requests = [ToolCallRequest(name, args, f"call_{i}") for i, (name, args) in enumerate(calls)]
    result.set_messages([Message("user", "question")], [Message("assistant", content, requests)])
    return result


def root(name: str = "agent_run", **fields: Any) -> Span:
    return span(name, None, span_id="root", kind="agent", start=0, end=10_000_000, **fields)


def analyse(*spans: Span) -> TraceAnalysis:
    store = SpanStore()
    store.add(spans)
    trace_id = spans[0].trace_id
    snapshot = store.snapshot(trace_id)
    assert snapshot is not None
    return analyze(snapshot)


def codes(analysis: TraceAnalysis) -> list[str]:
    return sorted(f.code for f in analysis.findings)


def span_facts(span: Span, with_times: bool = True) -> tuple:
    """Everything a parser decides about a span, to compare two readings of one trace (e.g. JSON vs protobuf).

    `with_times=False` for formats that keep only microseconds (the SDK console exporter).
    """
    tokens = span.tokens
    return (
        span.trace_id,
        span.parent_id,
        span.name,
        span.kind,
        span.status,
        span.status_message,
        (tokens.prompt, tokens.completion, tokens.total, tokens.cache_read, tokens.reasoning) if tokens else None,
        span.finish_reasons,
        span.stop_reason,
        span.model,
        span.tool_name,
        span.tool_args,
        span.graph_step,
        span.graph_node,
        (span.start_ns, span.end_ns) if with_times else None,
        span.service,
        [(event.name, event.time_ns if with_times else None, event.attributes) for event in span.events],
        span.attributes,
    )
