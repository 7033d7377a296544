"""Model calls of a trace, each request counted once (see `llm_calls`)."""

from __future__ import annotations

import re

from parsers.conventions import parse_json_maybe
from parsers.span import ERROR, LLM, Span

from .calls import nearest_ancestor


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
        nearest[span.span_id] = nearest_ancestor(span, by_id, LLM)
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

