"""Which format is this input? Decided by content, never by file extension.

Looks at the first bytes (and, for JSON, the first record, or the first recognisable one of the first lines) and names the parser module that reads it. Gzip is
recognised by its magic number and unwrapped by the reader before sniffing.
"""

from __future__ import annotations

import orjson

OTLP_JSON = "otlp-json"
OTLP_PROTO = "otlp-proto"
CONSOLE = "otel-console"
READABLE_SPAN = "otel-js-spans"
LANGSMITH = "langsmith"
AGENTS_SDK = "openai-agents"

GZIP_MAGIC = b"\x1f\x8b"


def sniff(data: bytes) -> str | None:
    """The format name for `data`, or None when nothing matches."""
    head = data.lstrip()[:1]
    if not head:
        return None
    if head in (b"{", b"["):
        return _sniff_json(data)
    if is_protobuf(data):
        return OTLP_PROTO
    return _classify_lines(_first_lines(data.lstrip(), LINES_TO_SNIFF)[1:])  # JSON Lines behind a damaged first line


def is_protobuf(data: bytes) -> bool:
    """A binary ExportTraceServiceRequest starts with field 1 (resource_spans, length-delimited): byte 0x0A.

    The collector's proto file exporter writes each message behind a 4-byte big-endian length instead.
    """
    if data[:1] == b"\x0a":
        return True
    if len(data) > 5:
        length = int.from_bytes(data[:4], "big")  # the first message may still be being written: no upper check
        return 0 < length < 1 << 30 and data[4:5] == b"\x0a"
    return False


LINES_TO_SNIFF = 50  # JSON Lines whose first records are damaged are still recognised by the next ones


def _sniff_json(data: bytes) -> str | None:
    stripped = data.lstrip()
    lines = _first_lines(stripped, LINES_TO_SNIFF)
    try:
        record = orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        record = None
    if record is None:
        head = stripped[:4096]
        # The SDK console exporter pretty-prints span objects back to back: `"context": {"trace_id": "0x...`.
        if b'"context"' in head and b'"trace_id"' in head and b'"resourceSpans"' not in head:
            return CONSOLE
        try:
            record = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            return _classify_lines(lines[1:]) or _guess_from_head(head)
    return classify_record(record) or _classify_lines(lines[1:])


def _first_lines(data: bytes, count: int) -> list[bytes]:
    """Up to `count` first lines of `data`, without splitting the rest of a large input."""
    lines = []
    start = 0
    while len(lines) < count and start <= len(data):
        end = data.find(b"\n", start)
        if end == -1:
            lines.append(data[start:])
            break
        lines.append(data[start:end])
        start = end + 1
    return lines


def _classify_lines(lines: list[bytes]) -> str | None:
    """The format of the first line that is a whole, recognisable JSON record: one damaged record at the top of a
    JSON Lines input must not make the whole input unreadable."""
    for line in lines:
        try:
            name = classify_record(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
        if name is not None:
            return name
    return None


def classify_record(record: object) -> str | None:
    """Name the format of one decoded JSON record (a line, a document, or the first element of an array)."""
    if isinstance(record, list):
        return classify_record(record[0]) if record else None
    if not isinstance(record, dict):
        return None
    keys = record.keys()
    if {"resourceSpans", "resource_spans", "resourceMetrics", "resourceLogs", "resource_metrics", "resource_logs"} & keys:
        return OTLP_JSON
    if ("traceId" in keys or "trace_id" in keys) and ("spanId" in keys or "span_id" in keys):
        return OTLP_JSON  # a single OTLP span object per line
    if record.get("object") in ("trace", "trace.span") or "span_data" in keys:
        return AGENTS_SDK
    if is_store_response(record):
        return OTLP_JSON
    if isinstance(record.get("data"), list) and record["data"] and isinstance(record["data"][0], dict):
        return AGENTS_SDK if record["data"][0].get("object") in ("trace", "trace.span") else None
    if "post" in keys or "patch" in keys or "run_type" in keys or "dotted_order" in keys:
        return LANGSMITH
    if "spanContext" in keys:
        return READABLE_SPAN
    if "context" in keys and isinstance(record.get("context"), dict) and "span_id" in record["context"]:
        return CONSOLE
    return None


_OTLP_TRACE_KEYS = frozenset(("resourceSpans", "resource_spans", "batches"))


def is_store_response(record: dict) -> bool:
    """A trace store's answer wrapped around OTLP/JSON, as saved from its HTTP API:

    - Jaeger v2 `api/v3` (`/api/v3/traces`): `{"result": {"resourceSpans": [...]}}`, one object per streamed chunk,
      or its error answer `{"error": {"httpCode": 404, "message": "No traces found"}}`;
    - Tempo `/api/v2/traces/<id>`: `{"trace": {"resourceSpans": [...]}, "metrics": {...}}` (`{"trace": {}}` when
      empty) and `/api/traces/<id>`: `{"batches": [...]}`;
    - Phoenix `/v1/projects/<p>/spans/otlpv1`: `{"data": [OTLP span objects, snake_case], "next_cursor": ...}`.
    """
    result = record.get("result")
    if isinstance(result, dict) and (_OTLP_TRACE_KEYS & result.keys() or not result):
        return True
    error = record.get("error")
    if isinstance(error, dict) and "httpCode" in error and len(record) == 1:
        return True
    trace = record.get("trace")
    if isinstance(trace, dict) and (_OTLP_TRACE_KEYS & trace.keys() or (not trace and "metrics" in record)):
        return True
    if isinstance(record.get("batches"), list):
        return True
    data = record.get("data")
    if isinstance(data, list) and "next_cursor" in record:
        first = data[0] if data else None
        return first is None or (isinstance(first, dict) and ("trace_id" in first or "traceId" in first))
    return False


def _guess_from_head(head: bytes) -> str | None:
    """A document too broken to parse whole: guess from its first keys so the parser can report precisely."""
    for marker, name in (
        (b'"resourceSpans"', OTLP_JSON),
        (b'"resource_spans"', OTLP_JSON),
        (b'"batches"', OTLP_JSON),  # Tempo's /api/traces/<id>
        (b'"spanContext"', READABLE_SPAN),
        (b'"span_data"', AGENTS_SDK),
        (b'"run_type"', LANGSMITH),
        (b'"post"', LANGSMITH),
    ):
        if marker in head:
            return name
    return None
