"""Ordered LLM calls and tool calls of a trace: the normalized view the detectors and evaluators read.

Tool calls come from executed tool spans (and retrievers and hand-offs, tagged by kind); a trace with no executed
tool spans falls back to the calls its LLMs requested (design/evaluators.md §8.0). Argument identity uses a
canonical JSON signature: sorted keys, compact, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same call.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    elif span.kind == HANDOFF:  # a hand-off tool names its target in its arguments
        target = handoff_target(span.tool_args)
        name = f"handoff to {target}" if target else span.name
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
    return requested_tool_calls(ordered)


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
    seen = {span.span_id}
    parent = by_id.get(span.parent_id) if span.parent_id else None
    while parent is not None and parent.span_id not in seen:  # parent cycles are possible in broken input
        if parent.kind == TOOL:
            return True
        seen.add(parent.span_id)
        parent = by_id.get(parent.parent_id) if parent.parent_id else None
    return False


def llm_calls(ordered: list[Span]) -> tuple[list[Span], dict[str, str]]:
    """The trace's model calls, one per request the provider answered (or refused), and the LLM spans left out
    (span id -> the span counted in their place).

    Producers often write one request twice: a framework span with an instrumentor's span nested inside it (ADK's
    `call_llm` around `generate_content`, OpenInference's `messages.create` around the anthropic SDK's own span),
    two instrumentors side by side (siblings for a streamed request), or an agent-run wrapper carrying the sum of
    its calls. Others tag a request-building step as an LLM span (LlamaIndex's `_prepare_chat_with_tools`).
    Counting every LLM span would double calls, tokens and cost, so duplicates are merged (see
    `duplicate_llm_spans`) and only the best-informed span of each request is kept.
    """
    spans = [span for span in ordered if span.kind == LLM]
    if len(spans) < 2:
        return spans, {}
    dropped = duplicate_llm_spans(spans, ordered)
    return ([span for span in spans if span.span_id not in dropped] if dropped else spans), dropped


def duplicate_llm_spans(spans: list[Span], ordered: list[Span]) -> dict[str, str]:
    """span id -> the span id counted in its place, for every LLM span that is not a call of its own.

    - An LLM span with LLM spans nested inside it is a wrapper when it holds several of them, or the same request
      as its one nested call (same response id, same usage, or one side without usage): one of the pair is kept,
      the better informed (finish reason, usage, output, model), else the inner one, closest to the wire.
    - Two overlapping LLM siblings with the same response id, or the same model and usage, are one request.
    - An LLM span with no usage, no response message and no finish reason that did not fail, followed by an LLM
      call under the same parent, only built the request.
    """
    by_id = {span.span_id: span for span in ordered}
    nearest: dict[str, Span | None] = {}  # span id -> nearest LLM ancestor
    for span in spans:
        nearest[span.span_id] = _nearest_llm_ancestor(span, by_id)
    inner: dict[str, list[Span]] = {}
    for span in spans:
        outer = nearest[span.span_id]
        if outer is not None:
            inner.setdefault(outer.span_id, []).append(span)
    dropped: dict[str, str] = {}
    for outer_id, nested in inner.items():
        outer = by_id[outer_id]
        if len(nested) > 1:
            dropped[outer_id] = nested[0].span_id
        elif same_request(outer, nested[0], nested=True):
            keep, drop = _better(nested[0], outer)
            dropped[drop.span_id] = keep.span_id
    siblings: dict[str | None, list[Span]] = {}
    for span in spans:
        if span.span_id not in dropped:
            siblings.setdefault(span.parent_id, []).append(span)
    for group in siblings.values():
        for first, second in zip(group, group[1:]):
            if first.span_id in dropped:
                continue
            if _overlap(first, second) and same_request(first, second, nested=False):
                keep, drop = _better(second, first)
                dropped[drop.span_id] = keep.span_id
            elif _builds_request(first) and second.start_ns is not None:
                dropped[first.span_id] = second.span_id
    return dropped


def same_request(a: Span, b: Span, nested: bool) -> bool:
    if (a.status == ERROR) != (b.status == ERROR):  # a failed attempt inside the call that then succeeded
        return False
    if a.response_id and b.response_id:
        return a.response_id == b.response_id
    if not models_agree(a.model, b.model):
        return False
    usage_a, usage_b = _usage(a), _usage(b)
    if usage_a is None or usage_b is None:
        return nested  # a wrapper without usage around the call that has it; siblings need evidence
    return usage_a == usage_b


def _usage(span: Span) -> tuple[int | None, int | None] | None:
    tokens = span.tokens
    if tokens is None or (tokens.prompt is None and tokens.completion is None):
        return None
    return (tokens.prompt, tokens.completion)


def models_agree(a: str | None, b: str | None) -> bool:
    """`openai/gpt-4o-mini` (a gateway's route) and `gpt-4o-mini-2024-07-18` (the response's) name one model;
    `gpt-4o` and `gpt-4o-mini` do not."""
    if a is None or b is None:
        return True
    return model_family(a) == model_family(b)


_SNAPSHOT = re.compile(r"(?:[-@](?:\d{4}-?\d{2}-?\d{2}|\d{8}|latest|v\d+(?::\d+)?))+$")


def model_family(model: str) -> str:
    """A model name without its provider or gateway prefix and its dated snapshot suffix."""
    return _SNAPSHOT.sub("", model.rsplit("/", 1)[-1].lower())


def _better(preferred: Span, other: Span) -> tuple[Span, Span]:
    """(kept, dropped): the span with more of what a call is judged by; `preferred` on a tie."""
    if _information(other) > _information(preferred):
        return other, preferred
    return preferred, other


def _information(span: Span) -> int:
    return (
        4 * bool(span.finish_reasons)
        + 4 * (_usage(span) is not None)
        + 2 * bool(span.output)
        + bool(span.model)
    )


def _builds_request(span: Span) -> bool:
    return (
        span.end_ns is not None
        and span.status != ERROR
        and _usage(span) is None
        and not span.finish_reasons
        and not span.output_messages
        and (span.output is None or _is_request(span.output))  # what it outputs is the request it built
    )


def _is_request(output: str) -> bool:
    """LlamaIndex's `_prepare_chat_with_tools` outputs `{"messages": [...], "tools": [...]}`."""
    if not output.startswith('{"messages"'):
        return False
    built = parse_json_maybe(output)
    return isinstance(built, dict) and isinstance(built.get("messages"), list)


def _overlap(a: Span, b: Span) -> bool:
    if a.start_ns is None or b.start_ns is None:
        return False
    a_end = a.end_ns if a.end_ns is not None else a.start_ns
    b_end = b.end_ns if b.end_ns is not None else b.start_ns
    return a.start_ns <= b_end and b.start_ns <= a_end


def _nearest_llm_ancestor(span: Span, by_id: dict[str, Span]) -> Span | None:
    seen = {span.span_id}
    parent = by_id.get(span.parent_id) if span.parent_id else None
    while parent is not None and parent.span_id not in seen:  # parent cycles are possible in broken input
        if parent.kind == LLM:
            return parent
        seen.add(parent.span_id)
        parent = by_id.get(parent.parent_id) if parent.parent_id else None
    return None
