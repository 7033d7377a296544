"""One OTLP/HTTP request body -> spans, bounded in size and work, one bad span costing only itself.

Runs on the receiver's worker threads, never on its event loop, and is written so no single C call holds the GIL
for long (the event loop keeps answering other clients meanwhile):

- gzip/zlib are undone in bounded steps (`max_length`), stopping at the size limit: a bomb is refused after
  inflating at most the limit, not all of it.
- Protobuf is split on the wire down to single spans (a few Python steps per resource/scope/span) and each span is
  parsed on its own, so a body of millions of empty messages is counted and refused at the cap instead of being
  materialised by one 1-second `ParseFromString`. Spans over `LARGE_MESSAGE` bytes are walked first to count their
  nested messages (attributes, events, links, values) against the same cap.
- JSON is refused before parsing when it holds more `{` than the message cap (an upper bound of its objects).
- A span that cannot be read is counted as rejected with the first reason, its neighbours kept: the receiver
  answers with OTLP partial success instead of failing the whole request.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from parsers.issues import collecting
from parsers.span import Source, Span

PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
JSON_TYPE = "application/json"
ENCODINGS = ("identity", "gzip", "x-gzip", "deflate")
MAX_NOTES = 20  # problems kept per request: a request of a thousand bad spans says so twenty times
LARGE_MESSAGE = 64 * 1024  # spans above this are walked before parsing, to count their nested messages
WHOLE_PARSE = 256 * 1024  # protobuf bodies up to this are parsed in one call
MAX_DEPTH = 100  # protobuf's own nesting limit
_INFLATE_STEP = 1 << 20


class TooLarge(Exception):
    """Over a size or count limit: 413."""


class Malformed(Exception):
    """The request as a whole cannot be read: 400."""


@dataclass
class Decoded:
    spans: list[Span] = field(default_factory=list)
    rejected: int = 0  # spans that could not be read
    problems: list[str] = field(default_factory=list)  # why (the first few), for partial success and the log
    warnings: list[str] = field(default_factory=list)  # fields read as unknown in spans that were kept

    def reject(self, count: int, message: str) -> None:
        self.rejected += count
        if len(self.problems) < 5:
            self.problems.append(message)

    def read_span(self, where: str, read, *args) -> None:
        """`read(*args)`, one span in isolation: kept, with the fields it held with the wrong type reported
        (parsers.issues), or rejected alone if it cannot be read at all."""
        with collecting() as issues:
            try:
                span = read(*args)
            except TooLarge:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad span costs only itself
                self.reject(1, f"{where}: {_reason(exc)}")
                return
        self.spans.append(span)
        for issue in issues[: MAX_NOTES - len(self.warnings)]:
            self.warnings.append(f"{where}: {issue}")

    @property
    def error_message(self) -> str:
        return "; ".join(self.problems)


@dataclass
class Limits:
    """What one request may hold."""

    max_body: int
    max_spans: int
    max_messages: int


def decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """The body as sent, with gzip/deflate undone in bounded steps so a bomb is refused, not inflated."""
    if encoding in ("identity", ""):
        return raw
    if encoding not in ENCODINGS:
        raise Malformed(f"unsupported Content-Encoding {encoding!r} (gzip, x-gzip, deflate or none)")
    if encoding == "deflate":  # zlib-wrapped per HTTP; some clients send raw deflate
        wbits = 15 if len(raw) >= 2 and raw[0] & 0x0F == 8 and (raw[0] << 8 | raw[1]) % 31 == 0 else -15
    else:
        wbits = 31
    inflater = zlib.decompressobj(wbits=wbits)
    parts, size, pending = [], 0, raw
    try:
        while True:
            part = inflater.decompress(pending, _INFLATE_STEP)
            parts.append(part)
            size += len(part)
            if size > limit:
                raise TooLarge(f"decompressed body over {limit:,} bytes")
            pending = inflater.unconsumed_tail
            if not pending and (inflater.eof or not part):
                break
    except zlib.error as exc:
        raise Malformed(f"body is not valid {encoding}: {exc}") from exc
    if not inflater.eof:
        raise Malformed(f"body is not valid {encoding}: truncated stream")
    return b"".join(parts)


# -- protobuf ------------------------------------------------------------------------------------------------------

# Nested message fields per message type (field number -> type), for counting what a large span holds.
_NESTED = {
    "Span": {9: "KeyValue", 11: "Event", 13: "Link", 15: "Status"},
    "Event": {3: "KeyValue"},
    "Link": {4: "KeyValue"},
    "KeyValue": {2: "AnyValue"},
    "AnyValue": {5: "ArrayValue", 6: "KeyValueList"},
    "ArrayValue": {1: "AnyValue"},
    "KeyValueList": {1: "KeyValue"},
    "Resource": {1: "KeyValue"},
    "InstrumentationScope": {3: "KeyValue"},
    "Status": {},
}


class _Budget:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.messages = 0
        self.spans = 0

    def message(self) -> None:
        self.messages += 1
        if self.messages > self.limits.max_messages:
            raise TooLarge(f"more than {self.limits.max_messages:,} protobuf messages/fields in one request")

    def span(self) -> None:
        self.spans += 1
        if self.spans > self.limits.max_spans:
            raise TooLarge(f"more than {self.limits.max_spans:,} spans in one request")


def _varint(data: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise Malformed("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise Malformed("varint over 10 bytes")


def _fields(data: memoryview, start: int, end: int, budget: _Budget):
    """(field number, start, end) of each length-delimited field; other wire types are skipped."""
    pos = start
    while pos < end:
        budget.message()
        key, pos = _varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(data, pos, end)
            continue
        if wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(data, pos, end)
            if pos + length > end:
                raise Malformed(f"field {number} runs past its message ({length} bytes)")
            yield number, pos, pos + length
            pos += length
            continue
        else:
            raise Malformed(f"unsupported wire type {wire}")
        if pos > end:
            raise Malformed(f"field {number} runs past its message")


def _count_nested(data: memoryview, start: int, end: int, kind: str, budget: _Budget, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise Malformed(f"messages nested over {MAX_DEPTH} deep")
    nested = _NESTED[kind]
    for number, begin, finish in _fields(data, start, end, budget):
        inner = nested.get(number)
        if inner is not None:
            _count_nested(data, begin, finish, inner, budget, depth + 1)


def decode_protobuf(body: bytes, source: Source, limits: Limits) -> Decoded:
    """An `ExportTraceServiceRequest`, span by span. Raises Malformed if its envelope (request, resource, scope
    framing) is broken, TooLarge over the caps; a span that does not parse or has bad ids is rejected alone.

    A body up to `WHOLE_PARSE` bytes is parsed in one call (at most ~10 ms even when it is all empty messages, and
    a fifth faster than span by span); if that fails, it is split like a larger one to find the bad spans."""
    if len(body) <= WHOLE_PARSE:
        decoded = _decode_whole(body, source, limits)
        if decoded is not None:
            return decoded
    return _decode_split(body, source, limits)


def _decode_whole(body: bytes, source: Source, limits: Limits) -> Decoded | None:
    """None if the request does not parse as a whole."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from parsers.otlp_proto import decode_value, span_from_proto

    try:
        request = ExportTraceServiceRequest.FromString(body)
    except DecodeError:
        return None
    if sum(len(scope_spans.spans) for rs in request.resource_spans for scope_spans in rs.scope_spans) > limits.max_spans:
        raise TooLarge(f"more than {limits.max_spans:,} spans in one request")
    decoded = Decoded()
    index = 0
    for resource_spans in request.resource_spans:
        service = next(
            (decode_value(kv.value) for kv in resource_spans.resource.attributes if kv.key == "service.name"), None
        )
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name or None
            for message in scope_spans.spans:
                decoded.read_span(f"span {index}", span_from_proto, message, service, source, scope)
                index += 1
    return decoded


def _decode_split(body: bytes, source: Source, limits: Limits) -> Decoded:
    from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanMessage

    from parsers.otlp_proto import decode_value, span_from_proto

    data = memoryview(body)
    budget = _Budget(limits)

    def parse(message_type, kind: str, begin: int, finish: int):
        if finish - begin > LARGE_MESSAGE:
            _count_nested(data, begin, finish, kind, budget)
        return message_type.FromString(data[begin:finish])

    def read_span(begin: int, finish: int, service: str | None, scope: str | None) -> Span:
        return span_from_proto(parse(SpanMessage, "Span", begin, finish), service, source, scope)

    # First the framing and the caps, before any span is built: a flood of empty messages stops here.
    groups = []  # (resource bytes range or None, scope bytes range or None, [span ranges])
    for number, begin, finish in _fields(data, 0, len(data), budget):
        if number != 1:
            continue
        resource, scopes = None, []
        for inner, rbegin, rfinish in _fields(data, begin, finish, budget):
            if inner == 1:
                resource = (rbegin, rfinish)
            elif inner == 2:
                scope, spans = None, []
                for leaf, sbegin, sfinish in _fields(data, rbegin, rfinish, budget):
                    if leaf == 1:
                        scope = (sbegin, sfinish)
                    elif leaf == 2:
                        budget.span()
                        spans.append((sbegin, sfinish))
                scopes.append((scope, spans))
        groups.append((resource, scopes))

    decoded = Decoded()
    for resource, scopes in groups:
        service = None
        try:
            if resource is not None:
                for kv in parse(Resource, "Resource", *resource).attributes:
                    if kv.key == "service.name":
                        service = decode_value(kv.value)
                        break
        except Exception as exc:  # noqa: BLE001 - a bad resource costs its own spans, not the request
            decoded.reject(sum(len(spans) for _, spans in scopes), f"unreadable resource: {_reason(exc)}")
            continue
        for scope, spans in scopes:
            try:
                name = parse(InstrumentationScope, "InstrumentationScope", *scope).name if scope else ""
            except Exception as exc:  # noqa: BLE001
                decoded.reject(len(spans), f"unreadable instrumentation scope: {_reason(exc)}")
                continue
            for begin, finish in spans:
                decoded.read_span(f"span at byte {begin}", read_span, begin, finish, service, name or None)
    return decoded


# -- JSON ----------------------------------------------------------------------------------------------------------


def decode_json(body: bytes, source: Source, limits: Limits) -> Decoded:
    """An OTLP/JSON `ExportTraceServiceRequest`, span by span (same field spellings as parsers.otlp_json)."""
    from parsers.otlp_json import decode_value

    if body.count(b"{") > limits.max_messages:
        raise TooLarge(f"more than {limits.max_messages:,} JSON objects in one request")
    if not body.strip():
        return Decoded()
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise Malformed("expected an ExportTraceServiceRequest object")
    decoded = Decoded()
    groups = []
    spans_seen = 0
    for resource_spans in _list(_get(document, "resourceSpans", "resource_spans"), "resourceSpans", decoded):
        if not isinstance(resource_spans, dict):
            decoded.reject(0, f"resourceSpans entry is {type(resource_spans).__name__}, not an object")
            continue
        scopes = _get(resource_spans, "scopeSpans", "scope_spans") or resource_spans.get("instrumentationLibrarySpans")
        for scope_spans in _list(scopes, "scopeSpans", decoded):
            if not isinstance(scope_spans, dict):
                decoded.reject(0, f"scopeSpans entry is {type(scope_spans).__name__}, not an object")
                continue
            spans = _list(scope_spans.get("spans"), "spans", decoded)
            spans_seen += len(spans)
            if spans_seen > limits.max_spans:
                raise TooLarge(f"more than {limits.max_spans:,} spans in one request")
            groups.append((resource_spans, scope_spans, spans))
    for resource_spans, scope_spans, spans in groups:
        try:
            service = _service(resource_spans.get("resource"), decode_value)
            scope_object = scope_spans.get("scope") or scope_spans.get("instrumentationLibrary") or {}
            scope = scope_object.get("name") or None
            if scope is not None and not isinstance(scope, str):
                raise ValueError(f"scope name is {type(scope).__name__}, not a string")
        except Exception as exc:  # noqa: BLE001 - a bad resource or scope costs its own spans
            decoded.reject(len(spans), f"unreadable resource/scope: {_reason(exc)}")
            continue
        for index, obj in enumerate(spans):
            decoded.read_span(f"span {index} of scope {scope!r}", _json_span, obj, service, source, scope)
    return decoded


def _json_span(obj: Any, service: str | None, source: Source, scope: str | None) -> Span:
    from parsers.otlp_json import span_from_otlp

    if not isinstance(obj, dict):
        raise TypeError(f"span is {type(obj).__name__}, not an object")
    return span_from_otlp(obj, service, source, scope)


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _list(value: Any, what: str, decoded: Decoded) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        decoded.reject(0, f"{what} is {type(value).__name__}, not a list")
        return []
    return value


def _service(resource: Any, decode_value) -> str | None:
    if not resource:
        return None
    for kv in resource.get("attributes") or ():
        if kv.get("key") == "service.name":
            service = decode_value(kv.get("value"))
            return service if isinstance(service, str) else None
    return None


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
