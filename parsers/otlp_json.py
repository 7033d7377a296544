"""OTLP/JSON: `ExportTraceServiceRequest` / `TracesData` documents and single span objects.

Accepted layouts: one request per line (the collector file exporter, which also interleaves metric and log lines:
those are skipped and counted), one pretty-printed request, a JSON array of requests, and JSON Lines of single
OTLP span objects. Field names may be lowerCamelCase or snake_case, enums numbers or names, 64-bit integers
numbers or strings, ids hex (any case) or base64 (protobuf's JSON mapping).

This is the hottest path of a big-file open, so the decoding below avoids per-field indirection.
"""

from __future__ import annotations

from sys import intern
from typing import Any


from .conventions import apply_attributes
from .jsonl import RecordSkipped, parse_lines_or_document
from .result import ParseResult
from .span import ERROR, OK, UNSET, Source, Span, SpanEvent
from .values import normalize_id, to_ns

FORMAT = "otlp-json"
STREAMABLE = True  # every line stands alone: big files can be read chunk by chunk (parsers.read.iter_read_path)

_STATUS = {
    0: UNSET,
    1: OK,
    2: ERROR,
    "0": UNSET,
    "1": OK,
    "2": ERROR,
    "STATUS_CODE_UNSET": UNSET,
    "STATUS_CODE_OK": OK,
    "STATUS_CODE_ERROR": ERROR,
    "UNSET": UNSET,
    "OK": OK,
    "ERROR": ERROR,
}


def decode_value(value: Any) -> Any:
    """An OTLP `AnyValue` object -> a plain Python value (kvlists become dicts, arrays lists)."""
    if not isinstance(value, dict):
        return value
    for key, inner in value.items():  # an AnyValue has exactly one member
        if key in ("stringValue", "string_value", "boolValue", "bool_value", "doubleValue", "double_value"):
            return inner
        if key in ("intValue", "int_value"):
            return inner if isinstance(inner, int) else int(inner)
        if key in ("arrayValue", "array_value"):
            return [decode_value(v) for v in (inner or {}).get("values") or ()]
        if key in ("kvlistValue", "kvlist_value"):
            return decode_attributes((inner or {}).get("values"))
        if key in ("bytesValue", "bytes_value"):
            return inner
    return None


def decode_attributes(key_values: Any) -> dict[str, Any]:
    if not key_values:
        return {}
    attributes = {}
    for kv in key_values:
        # Keys repeat on every span: interned, a million spans share one copy of each instead of a million.
        key = intern(kv["key"])
        value = kv.get("value")
        if value.__class__ is dict:
            text = value.get("stringValue")  # most attributes are strings: skip the generic decoder
            if text is not None:
                attributes[key] = text
                continue
        attributes[key] = decode_value(value)
    return attributes


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def span_from_otlp(obj: dict[str, Any], service: str | None, source: Source | None, scope: str | None = None) -> Span:
    """One OTLP/JSON span object -> Span."""
    trace_id = normalize_id(_get(obj, "traceId", "trace_id"))
    span_id = normalize_id(_get(obj, "spanId", "span_id"))
    if trace_id is None or span_id is None:
        raise ValueError("span without traceId/spanId")
    status_obj = obj.get("status") or {}
    code = status_obj.get("code")
    status = _STATUS.get(code, UNSET) if code is not None else UNSET
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=normalize_id(_get(obj, "parentSpanId", "parent_span_id")),
        name=obj.get("name") or "",
        start_ns=to_ns(_get(obj, "startTimeUnixNano", "start_time_unix_nano")),
        end_ns=to_ns(_get(obj, "endTimeUnixNano", "end_time_unix_nano")),
        status=status,
        status_message=status_obj.get("message") or None,
        service=service,
        scope=scope,
        source=source,
    )
    events = obj.get("events")
    if events:
        span.events = [
            SpanEvent(
                name=event.get("name") or "",
                time_ns=to_ns(_get(event, "timeUnixNano", "time_unix_nano")),
                attributes=decode_attributes(event.get("attributes")),
            )
            for event in events
        ]
    apply_attributes(span, decode_attributes(obj.get("attributes")))
    return span


def spans_from_request(doc: dict[str, Any], source: Source | None) -> list[Span]:
    """A `TracesData` / `ExportTraceServiceRequest` -> spans, carrying `service.name` from each resource."""
    spans = []
    for resource_spans in _get(doc, "resourceSpans", "resource_spans") or ():
        resource = resource_spans.get("resource") or {}
        service = None
        for kv in resource.get("attributes") or ():
            if kv.get("key") == "service.name":
                service = decode_value(kv.get("value"))
                break
        scopes = _get(resource_spans, "scopeSpans", "scope_spans") or resource_spans.get(
            "instrumentationLibrarySpans"
        )
        for scope_spans in scopes or ():
            scope = (scope_spans.get("scope") or scope_spans.get("instrumentationLibrary") or {}).get("name") or None
            for obj in scope_spans.get("spans") or ():
                spans.append(span_from_otlp(obj, service, source, scope))
    return spans


def parse_record(record: Any, source: Source) -> list[Span]:
    """One decoded JSON value: a request, a metrics/logs record (skipped), or a single span object."""
    if isinstance(record, list):
        spans = []
        for item in record:
            spans.extend(parse_record(item, source))
        return spans
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    if "resourceSpans" in record or "resource_spans" in record:
        return spans_from_request(record, source)
    if "resourceMetrics" in record or "resource_metrics" in record:
        raise RecordSkipped("metric records")
    if "resourceLogs" in record or "resource_logs" in record:
        raise RecordSkipped("log records")
    if "resourceProfiles" in record or "resource_profiles" in record:
        raise RecordSkipped("profile records")
    if ("traceId" in record or "trace_id" in record) and ("spanId" in record or "span_id" in record):
        return [span_from_otlp(record, None, source)]
    raise ValueError("not an OTLP trace record (no resourceSpans, no traceId/spanId)")


def parse(data: bytes, source_name: str) -> ParseResult:
    """A whole OTLP/JSON input: JSON Lines, or one document (an object or an array of requests)."""
    return parse_lines_or_document(data, source_name, parse_record, ParseResult(format=FORMAT))
