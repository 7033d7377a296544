"""OpenAI Agents SDK native exports: `trace.export()` and `span.export()` objects.

Layouts: one exported object per line (a `TracingProcessor` writing them as they end: a trace's spans, children
before parents, then its trace line), the backend ingest payload `{"data": [objects]}` (whole, or one per line),
or a JSON array of objects. tests/data/openai-agents/README.md describes what the SDK really writes.

The traps this module absorbs:
- Usage is exported three times: on each LLM span (`response`, `generation`), on each `turn` span, and summed on
  the `task` span. Only LLM spans get `tokens`; the turn and task sums stay in the attributes, for display only.
- The SDK never exports a finish reason. LLM spans say so (`records_finish_reason = False`, stop reason
  `missing`) so the analysis can tell "never recorded" from "went missing"; their messages are still filled, so a
  requested tool call is visible.
- A failed run shows only as an `error` on a `turn` span (guardrail tripwire) or an `agent` span (max turns); the
  status message is `"<message>: <data as compact JSON>"`.
- Hand-offs are named `handoff to <agent>`, as the OpenInference instrumentor names them, so a run reads the same
  whichever producer recorded it.

Every `span_data` field is kept in `attributes` as `openai_agents.<field>`, and a custom span's `data` one level
down as `openai_agents.data.<field>`, values as exported.

The trace object arrives after its spans and is not a span. `parse` (a whole input) keeps it and `link`s the
spans: a root `task` span without a name of its own is named after `workflow_name`, every span gets the trace's
`group_id` as `session_id`, and LLM and function spans get the agent name of their nearest ancestor that has one.
`parse_record` (a follower, line by line) returns no span for a trace object: the SDK already names the root
task span after the workflow (`data.name`), and a follower that wants the rest keeps the trace objects it reads
(`object == "trace"`) and calls `link` on the spans it has.
"""

from __future__ import annotations

from typing import Any

import orjson

from .conventions import (
    finish_reasons_from_repr,
    messages_from_json,
    parse_json_maybe,
    settle_stop_reason,
    stop_reason_of,
    to_int,
    to_text,
    tokens_from_usage,
)
from .producers import AGENTS_SDK_EXPORT
from .jsonl import parse_lines_or_document
from .result import ParseResult
from .span import AGENT, CHAIN, ERROR, GUARDRAIL, HANDOFF, LLM, OK, OTHER, TOOL, UNSET, Source, Span
from .values import normalize_id, to_ns

FORMAT = "openai-agents"

SPAN_DATA_KINDS = {
    "agent": AGENT,
    "response": LLM,
    "generation": LLM,
    "function": TOOL,
    "handoff": HANDOFF,
    "guardrail": GUARDRAIL,
}
# `custom` spans the SDK itself opens: one `task` per Runner run, one `turn` per model turn.
SDK_CUSTOM_KINDS = {"task": CHAIN, "turn": CHAIN}


def parse(data: bytes, source_name: str) -> ParseResult:
    """A whole input: spans from every record, then linked with the trace objects found anywhere in it."""
    result = ParseResult(format=FORMAT)
    traces: dict[str, dict[str, Any]] = {}
    parse_lines_or_document(data, source_name, lambda record, source: _spans(record, source, traces), result)
    link(result.spans, traces)
    return result


def parse_record(record: Any, source: Source) -> list[Span]:
    """One decoded record (an exported object, a list of them, or an ingest payload) -> its spans."""
    return _spans(record, source, {})


def _spans(record: Any, source: Source, traces: dict[str, dict[str, Any]]) -> list[Span]:
    spans = []
    for item in _exports(record):
        if item.get("object") == "trace":
            trace_id = normalize_id(item.get("id"))
            if trace_id is not None:
                traces[trace_id] = item
        else:
            spans.append(span_from_export(item, source))
    return spans


def _exports(record: Any) -> list[dict[str, Any]]:
    if isinstance(record, list):
        return [item for inner in record for item in _exports(inner)]
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    if "object" not in record and isinstance(record.get("data"), list):  # the backend ingest payload
        return _exports(record["data"])
    return [record]


def span_from_export(obj: dict[str, Any], source: Source | None) -> Span:
    """One `span.export()` object -> Span."""
    span_id = normalize_id(obj.get("id"))
    trace_id = normalize_id(obj.get("trace_id"))
    if span_id is None or trace_id is None:
        raise ValueError("span without id or trace_id")
    data = obj.get("span_data") or {}
    span_type = data.get("type")
    custom = data.get("data") if span_type == "custom" and isinstance(data.get("data"), dict) else {}
    sdk_type = custom.get("sdk_span_type")
    kind = SPAN_DATA_KINDS.get(span_type) or SDK_CUSTOM_KINDS.get(sdk_type, OTHER)
    if span_type == "handoff":
        name = f"handoff to {data.get('to_agent')}"
    elif sdk_type == "task":
        name = custom.get("name") or "task"  # the SDK names it after the workflow
    else:
        name = data.get("name") or span_type or ""
    error = obj.get("error")
    end_ns = to_ns(obj.get("ended_at"))
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=normalize_id(obj.get("parent_id")),
        name=str(name),
        kind=kind,
        start_ns=to_ns(obj.get("started_at")),
        end_ns=end_ns,
        status=ERROR if error else (OK if end_ns is not None else UNSET),
        status_message=_error_message(error) if error else None,
        attributes=_attributes(obj, data),
        source=source,
    )
    if kind == AGENT:
        span.agent_name = span.name
    elif kind == LLM:
        _llm_fields(span, data)
    elif kind == TOOL:
        span.tool_name = span.name
        span.tool_args = parse_json_maybe(data.get("input"))  # the arguments JSON string
        span.input = to_text(data.get("input"))
        span.output = to_text(data.get("output"))
    elif kind == HANDOFF:
        span.input = to_text(data.get("from_agent"))  # as the OpenInference instrumentor records them
        span.output = to_text(data.get("to_agent"))
        span.agent_name = span.input
    elif sdk_type == "turn":
        span.graph_step = to_int(custom.get("turn"))  # turn numbers run across the agents of one run
        span.agent_name = to_text(custom.get("agent_name"))
    return span


def _llm_fields(span: Span, data: dict[str, Any]) -> None:
    """`response` spans carry usage only; `generation` spans also the model and the messages."""
    span.tokens = tokens_from_usage(data.get("usage"))
    if data.get("model"):
        span.model = str(data["model"])
    if data.get("type") == "generation":
        span.input = to_text(data.get("input"))
        span.output = to_text(data.get("output"))
        span.set_messages(messages_from_json(data.get("input")), messages_from_json(data.get("output")))
    # An incomplete response fails the span with the reason inside its error text.
    span.finish_reasons = finish_reasons_from_repr(span.status_message)
    span.stop_reason = stop_reason_of(span.finish_reasons)
    settle_stop_reason(span, AGENTS_SDK_EXPORT)


def _error_message(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    message = str(error.get("message") or "error")
    details = error.get("data")
    return f"{message}: {orjson.dumps(details, default=str).decode()}" if details else message


def _attributes(obj: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for key, value in data.items():
        if key == "data" and isinstance(value, dict):
            attributes.update((f"openai_agents.data.{k}", v) for k, v in value.items())
        else:
            attributes[f"openai_agents.{key}"] = value
    for key in ("error", "metadata"):
        if obj.get(key):
            attributes[f"openai_agents.{key}"] = obj[key]
    return attributes


def link(spans: list[Span], traces: dict[str, dict[str, Any]]) -> None:
    """Apply what only the trace objects and the span tree know (see the module docstring)."""
    by_id = {span.span_id: span for span in spans}
    for span in spans:
        trace = traces.get(span.trace_id)
        if trace is not None:
            if trace.get("group_id") and span.session_id is None:
                span.session_id = str(trace["group_id"])
            if span.parent_id is None:
                _describe_root(span, trace)
        if span.agent_name is None and span.kind in (LLM, TOOL):
            span.agent_name = _ancestor_agent(span, by_id)


def _describe_root(span: Span, trace: dict[str, Any]) -> None:
    workflow = trace.get("workflow_name")
    attrs = span.attributes
    is_task = attrs.get("openai_agents.data.sdk_span_type") == "task"
    if workflow and is_task and not attrs.get("openai_agents.data.name"):
        span.name = str(workflow)
    for key in ("workflow_name", "group_id", "metadata"):
        if trace.get(key):
            attrs[f"openai_agents.trace.{key}"] = trace[key]


def _ancestor_agent(span: Span, by_id: dict[str, Span]) -> str | None:
    seen = {span.span_id}
    parent = by_id.get(span.parent_id) if span.parent_id else None
    while parent is not None and parent.span_id not in seen:
        if parent.agent_name:
            return parent.agent_name
        seen.add(parent.span_id)
        parent = by_id.get(parent.parent_id) if parent.parent_id else None
    return None
