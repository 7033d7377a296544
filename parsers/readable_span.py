"""OpenTelemetry JS `ReadableSpan` dumps (e.g. the OpenInference Vercel AI SDK test fixtures).

A JSON array of span objects, JSON Lines of them, or one object: `name`, `spanContext{traceId, spanId}`, the
parent as `parentSpanId` (SDK 1.x) or `parentSpanContext.spanId` (SDK 2.x), flat `attributes`,
`status{code, message}` (JS `SpanStatusCode`: 0 unset, 1 ok, 2 error), `startTime`/`endTime` as hrtime
`[seconds, nanos]` (`[0, 0]` while open), `events[{name, time, attributes}]`. `service.name` is taken from a
`resource` when the dump has one (a plain dump or a JSON-serialized SDK Resource). The
numeric `kind` is not read (the step kind comes from the attributes); the instrumentation scope names the
producer (parsers/producers.py).
"""

from __future__ import annotations

from typing import Any

import orjson

from .conventions import apply_attributes
from .jsonl import parse_lines
from .result import ParseResult
from .span import ERROR, OK, UNSET, Source, Span, SpanEvent
from .values import normalize_id, object_field, text_field, to_ns

FORMAT = "otel-js-spans"

_STATUS = {0: UNSET, 1: OK, 2: ERROR}
_RESOURCE_ATTRIBUTE_KEYS = ("attributes", "_attributes", "_memoizedAttributes")


def parse_record(record: Any, source: Source) -> list[Span]:
    """One decoded span object (or a list of them) -> spans."""
    if isinstance(record, list):
        return [span for item in record for span in parse_record(item, source)]
    if not isinstance(record, dict) or not isinstance(record.get("spanContext"), dict):
        raise ValueError("not a ReadableSpan (no spanContext object)")
    context = record["spanContext"]
    trace_id = normalize_id(context.get("traceId"))
    span_id = normalize_id(context.get("spanId"))
    if trace_id is None or span_id is None:
        raise ValueError("span without spanContext.traceId/spanId")
    parent = record.get("parentSpanId")
    if parent is None and isinstance(record.get("parentSpanContext"), dict):
        parent = record["parentSpanContext"].get("spanId")
    status = record.get("status") or {}
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=normalize_id(parent),
        name=text_field(record.get("name"), "name") or "",
        start_ns=to_ns(record.get("startTime")),
        end_ns=to_ns(record.get("endTime")),
        status=_STATUS.get(status.get("code"), UNSET),
        status_message=text_field(status.get("message"), "status.message") or None,
        service=_service(record.get("resource")),
        scope=_scope(record),
        source=source,
    )
    events = record.get("events")
    if events:
        span.events = [
            SpanEvent(text_field(event.get("name"), "event name") or "", to_ns(event.get("time")), object_field(event.get("attributes"), "event attributes"))
            for event in events
        ]
    apply_attributes(span, object_field(record.get("attributes"), "attributes"))
    return [span]


def _scope(record: dict[str, Any]) -> str | None:
    """The instrumentation scope's name (OTel JS 2.x `instrumentationScope`, 1.x `instrumentationLibrary`)."""
    scope = record.get("instrumentationScope") or record.get("instrumentationLibrary")
    name = scope.get("name") if isinstance(scope, dict) else None
    return name if isinstance(name, str) and name else None


def _service(resource: Any) -> str | None:
    """`service.name` from a plain dump or a JSON-serialized SDK Resource (1.x `_attributes`, 2.x `_rawAttributes`)."""
    if not isinstance(resource, dict):
        return None
    for key in _RESOURCE_ATTRIBUTE_KEYS:
        attributes = resource.get(key)
        if isinstance(attributes, dict) and isinstance(attributes.get("service.name"), str):
            return attributes["service.name"]
    for pair in resource.get("_rawAttributes") or ():
        if isinstance(pair, list) and len(pair) == 2 and pair[0] == "service.name" and isinstance(pair[1], str):
            return pair[1]
    return None


def parse(data: bytes, source_name: str) -> ParseResult:
    """A JSON array of spans, JSON Lines of spans, or one (possibly pretty-printed) span object."""
    result = ParseResult(format=FORMAT)
    stripped = data.lstrip()
    try:
        document = orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        if stripped[:1] == b"[":
            result.error(source_name, f"not valid JSON: {exc}")
            return result
        return parse_lines(data, source_name, parse_record, result)  # JSON Lines: a bad line costs itself only
    items = document if isinstance(document, list) else [document]
    for index, item in enumerate(items):
        source = Source(source_name, index=index) if isinstance(document, list) else Source(source_name)
        result.read_record(source, lambda: parse_record(item, source))
    return result
