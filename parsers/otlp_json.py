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
from .issues import report
from .jsonl import RecordSkipped, describe, parse_lines_or_document
from .result import ParseResult
from .sniff import is_store_response
from .span import ERROR, OK, UNSET, Source, Span, SpanEvent
from .values import normalize_id, text_field, time_field

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


MAX_DEPTH = 64  # nesting deeper than this is not data anyone reads (and recursion has a limit)


def decode_value(value: Any, depth: int = 0) -> Any:
    """An OTLP `AnyValue` object -> a plain Python value (kvlists become dicts, arrays lists).

    An AnyValue has one member; some writers (Phoenix's REST API) spell out every member with all but one null,
    so the first non-null member is the value.
    """
    if not isinstance(value, dict):
        return value
    if depth > MAX_DEPTH:
        report("attribute", f"nested deeper than {MAX_DEPTH} levels")
        return None
    for key, inner in value.items():
        if inner is None:
            continue
        if key in ("stringValue", "string_value", "boolValue", "bool_value", "doubleValue", "double_value"):
            return inner
        if key in ("intValue", "int_value"):
            return inner if isinstance(inner, int) else _int_value(inner)
        if key in ("arrayValue", "array_value"):
            values = inner.get("values") if isinstance(inner, dict) else None
            return [decode_value(v, depth + 1) for v in values] if isinstance(values, list) else []
        if key in ("kvlistValue", "kvlist_value"):
            return decode_attributes(inner.get("values") if isinstance(inner, dict) else None, depth + 1)
        if key in ("bytesValue", "bytes_value"):
            return inner
    return None


def _int_value(text: Any) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        report("attribute", f"intValue {text!r} is not an integer"[:120])
        return None


def decode_attributes(key_values: Any, depth: int = 0) -> dict[str, Any]:
    if not key_values:
        return {}
    if not isinstance(key_values, list):
        report("attributes", f"a {type(key_values).__name__} where a list of key/value pairs belongs")
        return {}
    attributes = {}
    for kv in key_values:
        key = kv.get("key") if kv.__class__ is dict or isinstance(kv, dict) else None
        if key.__class__ is not str and not isinstance(key, str):
            report("attributes", "an entry without a text key", "skipped")
            continue
        # Keys repeat on every span: interned, a million spans share one copy of each instead of a million.
        key = intern(key)
        value = kv.get("value")
        if value.__class__ is dict:
            text = value.get("stringValue")  # most attributes are strings: skip the generic decoder
            if text is not None:
                attributes[key] = text
                continue
        attributes[key] = decode_value(value, depth)
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
    # Every span of a trace repeats its id, and span names repeat across traces: one copy each, not one a span.
    trace_id = intern(trace_id)
    status_obj = obj.get("status")
    if not isinstance(status_obj, dict):
        if status_obj is not None:
            report("status", f"a {type(status_obj).__name__} where an object belongs")
        status_obj = {}
    code = status_obj.get("code")
    status = _STATUS.get(code, UNSET) if isinstance(code, (int, str)) else UNSET
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=normalize_id(_get(obj, "parentSpanId", "parent_span_id")),
        name=intern(text_field(obj.get("name"), "name") or ""),
        start_ns=time_field(_get(obj, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano"),
        end_ns=time_field(_get(obj, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano"),
        status=status,
        status_message=text_field(status_obj.get("message"), "status.message") or None,
        service=service,
        scope=scope,
        source=source,
        events=_events(events) if (events := obj.get("events")) else None,
    )
    apply_attributes(span, decode_attributes(obj.get("attributes")))
    return span


def _events(events: Any) -> list[SpanEvent]:
    if not isinstance(events, list):
        report("events", f"a {type(events).__name__} where a list belongs")
        return []
    read = []
    for event in events:
        if not isinstance(event, dict):
            report("events", f"a {type(event).__name__} where an event object belongs", "skipped")
            continue
        read.append(
            SpanEvent(
                name=text_field(event.get("name"), "event name") or "",
                time_ns=time_field(_get(event, "timeUnixNano", "time_unix_nano"), "event timeUnixNano"),
                attributes=decode_attributes(event.get("attributes")),
            )
        )
    return read


def spans_from_request(doc: dict[str, Any], source: Source | None) -> list[Span]:
    """A `TracesData` / `ExportTraceServiceRequest` -> spans, carrying `service.name` from each resource."""
    spans = []
    index = 0
    for resource_spans in _get(doc, "resourceSpans", "resource_spans") or ():
        resource = resource_spans.get("resource") or {}
        service = None
        for kv in resource.get("attributes") or ():
            if isinstance(kv, dict) and kv.get("key") == "service.name":
                service = text_field(decode_value(kv.get("value")), "service.name")
                break
        scopes = _get(resource_spans, "scopeSpans", "scope_spans") or resource_spans.get(
            "instrumentationLibrarySpans"
        )
        for scope_spans in scopes or ():
            scope = (scope_spans.get("scope") or scope_spans.get("instrumentationLibrary") or {}).get("name") or None
            if not isinstance(scope, str):
                scope = None
            for obj in scope_spans.get("spans") or ():
                try:
                    spans.append(span_from_otlp(obj, service, source, scope))
                except Exception as exc:  # noqa: BLE001 - one bad span of a request costs itself only
                    report(f"span {index}", describe(exc), "skipped, the request's other spans kept")
                index += 1
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
    if is_store_response(record):
        return spans_from_store_response(record, source)
    raise ValueError("not an OTLP trace record (no resourceSpans, no traceId/spanId)")


def spans_from_store_response(record: dict[str, Any], source: Source | None) -> list[Span]:
    """A trace store's HTTP answer around OTLP/JSON (sniff.is_store_response names the shapes): unwrapped, the
    same spans a file of the same traces gives."""
    if "result" in record:  # Jaeger api/v3: TracesData in a grpc-gateway `result`
        result = record["result"]
        return spans_from_request(result, source) if result else []
    error = record.get("error")
    if isinstance(error, dict):  # Jaeger's grpc-gateway error answer (404 "No traces found" when nothing matched)
        message = text_field(error.get("message"), "error.message")
        report("error", f"the store answered {error.get('httpCode')} {message or ''}"[:200], "no spans")
        return []
    if "trace" in record:  # Tempo /api/v2/traces/<id>: TraceByIDResponse
        trace = record["trace"] or {}
        if record.get("status") in ("PARTIAL", 1):
            report("status", f"Tempo returned a partial trace: {text_field(record.get('message'), 'message') or ''}"[:200], "spans kept")
        return spans_from_request({"resourceSpans": _get(trace, "resourceSpans", "resource_spans") or trace.get("batches")}, source)
    if "batches" in record:  # Tempo /api/traces/<id> (v1): tempopb.Trace, its resourceSpans renamed `batches`
        return spans_from_request({"resourceSpans": record["batches"]}, source)
    # Phoenix /v1/projects/<p>/spans/otlpv1: a page of span objects (no resource: Phoenix keeps none)
    from .phoenix_rest import phoenix_span

    spans = []
    for index, obj in enumerate(record["data"]):
        try:
            spans.append(phoenix_span(obj, source, span_from_otlp))
        except Exception as exc:  # noqa: BLE001 - one bad span of a page costs itself only
            report(f"span {index}", describe(exc), "skipped, the page's other spans kept")
    return spans


def parse(data: bytes, source_name: str) -> ParseResult:
    """A whole OTLP/JSON input: JSON Lines, or one document (an object or an array of requests)."""
    return parse_lines_or_document(data, source_name, parse_record, ParseResult(format=FORMAT))
