"""Binary OTLP: an `ExportTraceServiceRequest` as OTLP/HTTP exporters POST it, or the collector's proto files.

Two layouts: one raw request (a captured POST body, what `*.otlp.pb` files hold), and the collector file
exporter's `format: proto`, where every message is preceded by its length as a 4-byte big-endian uint32.
A length-prefixed file is read message by message: a corrupt message is reported with its index and byte offset
and the others are still read; a cut-off last message is what a file being written looks like.

The decoded protobuf objects are walked directly: going through MessageToDict and the JSON decoder instead is
about four times slower (measured on the LangGraph fixture). Values are reduced to exactly what `parsers.otlp_json` makes of the same request in
JSON form, so one trace sent both ways normalizes identically.
"""

from __future__ import annotations

import base64
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from .conventions import apply_attributes
from .result import ParseResult
from .span import ERROR, OK, UNSET, Source, Span, SpanEvent
from .values import normalize_id

FORMAT = "otlp-proto"

_STATUS = (UNSET, OK, ERROR)  # indexed by StatusCode
_SCALARS = frozenset(("string_value", "int_value", "double_value", "bool_value"))
_PREFIX = 4  # bytes of the length prefix in the collector's proto files


def decode_request(data: bytes) -> ExportTraceServiceRequest:
    """Bytes -> request; raises `google.protobuf.message.DecodeError` on a corrupt payload."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(data)
    return request


def decode_value(value: Any) -> Any:
    """An `AnyValue` -> a plain Python value, as otlp_json decodes its JSON form.

    bytes become their base64 text (their JSON form); the profiling-only `string_value_strindex` and an empty
    AnyValue become None.
    """
    which = value.WhichOneof("value")
    if which in _SCALARS:
        return getattr(value, which)
    if which == "array_value":
        return [decode_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return decode_attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def decode_attributes(key_values: Any) -> dict[str, Any]:
    attributes = {}
    for kv in key_values:
        value = kv.value
        if value.WhichOneof("value") == "string_value":  # most attributes are strings: skip the generic decoder
            attributes[kv.key] = value.string_value
        else:
            attributes[kv.key] = decode_value(value)
    return attributes


def span_from_proto(message: Any, service: str | None, source: Source | None, scope: str | None = None) -> Span:
    """One protobuf `Span` -> Span.

    Ids must be 16 and 8 bytes: a metrics or logs message read as a trace request decodes "successfully" into
    spans whose ids are metric names, and this is where that shows.
    """
    if len(message.trace_id) != 16 or len(message.span_id) != 8:
        raise ValueError(
            f"span ids of {len(message.trace_id)}/{len(message.span_id)} bytes, not 16/8: not trace data"
        )
    trace_id = normalize_id(message.trace_id)
    span_id = normalize_id(message.span_id)
    if trace_id is None or span_id is None:
        raise ValueError("span with an all-zero trace_id/span_id")
    status = message.status
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=normalize_id(message.parent_span_id),
        name=message.name,
        start_ns=message.start_time_unix_nano or None,
        end_ns=message.end_time_unix_nano or None,
        status=_STATUS[status.code] if 0 <= status.code < len(_STATUS) else UNSET,
        status_message=status.message or None,
        service=service,
        scope=scope,
        source=source,
    )
    if message.events:
        span.events = [
            SpanEvent(event.name, event.time_unix_nano or None, decode_attributes(event.attributes))
            for event in message.events
        ]
    apply_attributes(span, decode_attributes(message.attributes))
    return span


def spans_from_request(request: ExportTraceServiceRequest, source: Source | None, result: ParseResult | None = None) -> list[Span]:
    """A decoded request -> spans, carrying `service.name` from each resource (the OTLP/HTTP receiver's entry).

    With a `result`, each span is read in isolation: a bad one is reported as `source span N` and the others are
    kept; without one, the first bad span raises (callers that answer for the request as a whole).
    """
    spans: list[Span] = []
    index = 0
    for resource_spans in request.resource_spans:
        service = None
        for kv in resource_spans.resource.attributes:
            if kv.key == "service.name":
                service = decode_value(kv.value)
                break
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name or None
            for message in scope_spans.spans:
                if result is None:
                    spans.append(span_from_proto(message, service, source, scope))
                else:
                    result.read_record(
                        f"{source} span {index}", lambda: [span_from_proto(message, service, source, scope)]
                    )
                index += 1
    return spans


def parse(data: bytes, source_name: str) -> ParseResult:
    """A raw request, or the collector's length-prefixed sequence of requests."""
    result = ParseResult(format=FORMAT)
    if _is_length_prefixed(data):
        _parse_framed(data, source_name, result)
    else:
        parse_message(data, Source(source_name), "", result)
    return result


def _is_length_prefixed(data: bytes) -> bool:
    """A raw request starts with field 1's tag (0x0A); a prefixed one has that tag after its 4-byte length.

    The length is not required to fit, so a file whose first message is still being written reads as truncated.
    Both look alike only for a first message over 160 MiB (length byte 0 = 0x0A), which is read as raw.
    """
    return data[:1] != b"\x0a" and data[_PREFIX : _PREFIX + 1] == b"\x0a"


def _parse_framed(data: bytes, source_name: str, result: ParseResult) -> None:
    offset, index, size = 0, 0, len(data)
    while offset < size:
        where = f"message {index} at byte {offset}"
        if size - offset < _PREFIX:
            message = f"{where}: incomplete length prefix (is the file still being written?)"
            result.error(f"{source_name}[{index}]", message)
            return
        length = int.from_bytes(data[offset : offset + _PREFIX], "big")
        start = offset + _PREFIX
        if length > size - start:
            result.error(
                f"{source_name}[{index}]",
                f"{where}: truncated, {size - start} of {length} bytes (is the file still being written?)",
            )
            return
        parse_message(data[start : start + length], Source(source_name, index=index), f"{where}: ", result)
        offset, index = start + length, index + 1


def parse_message(payload: bytes, source: Source, where: str, result: ParseResult) -> None:
    """One request's bytes into `result` (followers of a length-prefixed spool call this per frame)."""
    try:
        request = decode_request(payload)
    except DecodeError as exc:
        result.error(str(source), f"{where}not a valid OTLP ExportTraceServiceRequest: {exc}")
        return
    first = next((m for rs in request.resource_spans for ss in rs.scope_spans for m in ss.spans), None)
    if first is not None and (len(first.trace_id) != 16 or len(first.span_id) != 8):
        # a metrics or logs message decodes "successfully" as traces: the whole message is foreign, say it once
        result.error(str(source), f"{where}ids of {len(first.trace_id)}/{len(first.span_id)} bytes: not trace data")
        return
    spans_from_request(request, source, result)
