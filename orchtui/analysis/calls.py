"""Ordered tool calls of a trace: the normalized view the detectors and evaluators read (model calls, each
request once, are in model_calls.py).

Tool calls come from executed tool spans (and retrievers and hand-offs, tagged by kind); a trace with no executed
tool spans falls back to the calls its LLMs requested (design/evaluators.md §8.0). Argument identity uses a
canonical JSON signature: sorted keys, compact, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same call.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from parsers.conventions import handoff_target, is_handoff_tool, parse_json_maybe
from parsers.span import ERROR, HANDOFF, LLM, OK, RETRIEVER, TOOL, Message, Span, ToolCallRequest

CALL_KINDS = (TOOL, RETRIEVER, HANDOFF)


def canonical_json(value: Any) -> str:
    """Stable text for argument comparison; values JSON cannot encode fall back to their str()."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()
    except TypeError:
        return str(value)


class _FromSpan:
    """A value the call reads from its span when asked."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_FROM_SPAN"  # one instance, also across a pickle: a worker process hands its analyses over


_FROM_SPAN: Any = _FromSpan()


class ToolCall:
    """One tool call: executed (read from its tool span) or requested by an LLM, or handed in (a trajectory).

    A call built from a span reads its arguments and result from the span on each access instead of holding
    them: they are payload (a tool's arguments and output are the biggest things a tool span carries), so after
    the trace's analysis they go back to the file with the span's other payload (parsers/payloads.py), and the
    analysis kept in memory holds none of them.
    """

    __slots__ = ("name", "_args", "kind", "status", "span_id", "start_ns", "_result", "error", "call_id", "executed", "span")

    def __init__(
        self,
        name: str,
        args: Any = _FROM_SPAN,
        kind: str = TOOL,
        status: str = "unknown",
        span_id: str | None = None,
        start_ns: int | None = None,
        result: str | None = _FROM_SPAN,
        error: str | None = None,
        call_id: str | None = None,
        executed: bool = True,  # False when only requested by an LLM (no tool span in the trace)
        span: Span | None = None,  # the executed span, for arguments and result not handed in
    ) -> None:
        if span is None and (args is _FROM_SPAN or result is _FROM_SPAN):
            args = None if args is _FROM_SPAN else args
            result = None if result is _FROM_SPAN else result
        self.name, self._args, self.kind, self.status, self.span_id = name, args, kind, status, span_id
        self.start_ns, self._result, self.error, self.call_id, self.executed, self.span = (
            start_ns, result, error, call_id, executed, span
        )

    @property
    def args(self) -> Any:
        args = self._args
        if args is not _FROM_SPAN:
            return args
        span = self.span
        if self.kind == HANDOFF:
            return None
        if self.kind == RETRIEVER and span.tool_args is None:  # a retriever's query is its argument
            return span.input
        return span.tool_args

    @args.setter
    def args(self, value: Any) -> None:
        self._args = value

    @property
    def result(self) -> str | None:
        result = self._result
        return self.span.output if result is _FROM_SPAN else result

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ToolCall):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _COMPARED)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _COMPARED)
        return f"ToolCall({fields})"

    @property
    def signature(self) -> str:
        return f"{self.name}{canonical_json(self.args)}"

    def describe(self) -> str:
        """`name{"arg": ...}` for explanations, the arguments cut to a readable length."""
        args = canonical_json(self.args)
        if len(args) > 80:
            args = args[:77] + "..."
        return f"{self.name}{args}" if isinstance(self.args, dict) else f"{self.name}({args})"


_COMPARED = ("name", "args", "kind", "status", "span_id", "start_ns", "result", "error", "call_id", "executed")


def tool_call_from_span(span: Span) -> ToolCall:
    if span.kind == HANDOFF:  # a hand-off tool names its target in its arguments
        target = handoff_target(span.tool_args)
        name = f"handoff to {target}" if target else span.name
    else:
        name = span.tool_name or span.name
    status = ERROR if span.status == ERROR else (OK if span.end_ns is not None else "unknown")
    return ToolCall(
        name=name,
        kind=span.kind,
        status=status,
        span_id=span.span_id,
        start_ns=span.start_ns,
        error=span.status_message if span.status == ERROR else None,
        call_id=span.tool_call_id,
        span=span,
    )


def tool_calls(ordered: list[Span]) -> list[ToolCall]:
    """Executed calls in start order; requested calls when nothing was executed. A retriever span inside a tool
    span is that tool's own work (a retriever tool's vector search), not a second call: only the tool counts."""
    by_id = {span.span_id: span for span in ordered}
    relayed = _relayed_calls(ordered, by_id)
    executed = [
        tool_call_from_span(span)
        for span in ordered
        if span.kind in CALL_KINDS
        and span.span_id not in relayed
        and not (span.kind == RETRIEVER and _inside_tool(span, by_id))
    ]
    if executed:
        _restore_argument_names(executed, ordered)
        return executed
    return requested_tool_calls(ordered)


def _restore_argument_names(calls: list[ToolCall], ordered: list[Span]) -> None:
    """OpenInference's LangChain instrumentor records a one-argument tool's input as the bare value (`A-404`);
    the LLM asked for `{"order_id": "A-404"}`. The requested object is what the tool received, so the call gets it
    back and compares equal to the same call from other producers."""
    if not any(call.kind == TOOL and _is_bare(call.args) for call in calls):
        return
    by_id: dict[str, Any] = {}
    by_name: dict[str, list[tuple[int, Any]]] = {}
    for span in ordered:
        if span.kind == LLM:
            for request in span.requested_tool_calls:
                if request.id:
                    by_id[request.id] = request.arguments
                by_name.setdefault(request.name, []).append((span.start_ns or 0, request.arguments))
    for call in calls:
        if call.kind != TOOL or not _is_bare(call.args):
            continue
        requested = by_id.get(call.call_id) if call.call_id else None
        if requested is None:
            earlier = [args for start, args in by_name.get(call.name, ()) if start <= (call.start_ns or 0)]
            requested = earlier[-1] if earlier else None
        if isinstance(requested, dict) and len(requested) == 1 and str(next(iter(requested.values()))) == str(call.args):
            call.args = requested


def _is_bare(args: Any) -> bool:
    return isinstance(args, (str, int, float)) and not isinstance(args, bool)


def _relayed_calls(ordered: list[Span], by_id: dict[str, Span]) -> set[str]:
    """Tool spans that only relay a call to a tool span of the same name inside them (an MCP client's
    `MCP send tools/call X` around the server's `tools/call X`): the inner span, which ran it, is the call."""
    relayed = set()
    for span in ordered:
        if span.kind == TOOL:
            outer = nearest_ancestor(span, by_id, TOOL)
            if outer is not None and (outer.tool_name or outer.name) == (span.tool_name or span.name):
                relayed.add(outer.span_id)
    return relayed


def route_calls(calls: list[ToolCall]) -> list[ToolCall]:
    """The calls a route is made of: the executed ones, or, from a producer that records no tool spans, the ones
    the LLM outputs name."""
    executed = [call for call in calls if call.executed]
    return executed if executed or not calls else calls


def requested_tool_calls(ordered: list[Span]) -> list[ToolCall]:
    """The calls the LLMs asked for, for producers that write no tool spans (LiteLLM, the anthropic and OpenAI
    instrumentors under a hand-written loop, MCP clients). A tool-role message with the call's id in a later
    request is the tool's result: it shows the call ran and how it ended (an `Error...` result is a failure, as
    MCP, LiteLLM and CrewAI word it, or the message's own error flag)."""
    results: dict[str, Message] = {}
    failed_ids: set[str] = set()
    requested: list[tuple[Span, ToolCallRequest]] = []
    previous: list[ToolCallRequest] = []
    for span in ordered:
        if span.kind != LLM:
            continue
        messages = span.input_messages
        for message in messages:
            if message.role == "tool" and message.tool_call_id:
                results.setdefault(message.tool_call_id, message)
        # Results recorded without their call id answer the previous call's requests in order.
        trailing = _trailing_tool_results(messages)
        for request, message in zip(previous, trailing):
            if request.id and request.id not in results and not message.tool_call_id:
                results[request.id] = message
        failed_ids |= _failed_result_ids(span.input)
        previous = span.requested_tool_calls
        requested.extend((span, request) for request in previous)
    calls = []
    for span, request in requested:
        result = results.get(request.id) if request.id else None
        status = "unknown"
        if result is not None:
            failed = request.id in failed_ids or _reads_as_error(result.content)
            status = ERROR if failed else OK
        calls.append(
            ToolCall(
                name=request.name,
                args=request.arguments,
                kind=HANDOFF if is_handoff_tool(request.name, {}) else TOOL,
                status=status,
                span_id=span.span_id,
                start_ns=span.start_ns,
                result=result.content if result is not None else None,
                error=result.content if status == ERROR and result is not None else None,
                call_id=request.id,
                executed=False,
            )
        )
    return calls


_ERROR_RESULT = re.compile(r"\s*(?:error\b|error executing tool|exception\b|traceback\b)", re.IGNORECASE)


def _trailing_tool_results(messages: list[Message]) -> list[Message]:
    trailing: list[Message] = []
    for message in reversed(messages):
        if message.role != "tool":
            break
        trailing.append(message)
    return trailing[::-1]


def _failed_result_ids(request: str | None) -> set[str]:
    """Anthropic tool results flagged `is_error` in the raw request (the flattened messages drop the flag)."""
    if not request or '"is_error": true' not in request and '"is_error":true' not in request:
        return set()
    payload = parse_json_maybe(request)
    messages = payload.get("messages") if isinstance(payload, dict) else payload
    failed = set()
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("is_error") is True:
                failed.add(str(block.get("tool_use_id")))
    return failed


def _reads_as_error(content: str | None) -> bool:
    return bool(content) and _ERROR_RESULT.match(content) is not None


def _inside_tool(span: Span, by_id: dict[str, Span]) -> bool:
    return nearest_ancestor(span, by_id, TOOL) is not None


def nearest_ancestor(span: Span, by_id: dict[str, Span], kind: str) -> Span | None:
    """The closest enclosing span of `kind`, walking parent links (which can form a cycle in broken input)."""
    seen = {span.span_id}
    parent = by_id.get(span.parent_id) if span.parent_id else None
    while parent is not None and parent.span_id not in seen:
        if parent.kind == kind:
            return parent
        seen.add(parent.span_id)
        parent = by_id.get(parent.parent_id) if parent.parent_id else None
    return None
