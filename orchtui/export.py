"""Write normalized spans back out as OTLP/JSON, so a trace found in the TUI can be saved and shared.

The output is one `ExportTraceServiceRequest` that every OTLP/JSON reader (this one included) accepts: the raw
attributes as recorded, status, events and timings; ids as lowercase hex where they were hex.

The file is named after the trace, and a trace's name and id are whatever its producer wrote (`../../x`, a NUL):
both are reduced to file-name-safe characters, so the file always lands in the chosen directory.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import orjson

from parsers.span import ERROR, OK, Span

_STATUS_CODES = {OK: 1, ERROR: 2}
_UNSAFE_IN_NAME = re.compile(r"[^\w-]")  # anything but letters, digits, `_` and `-`
MAX_DEPTH = 64  # nesting kept in an exported value; deeper levels become a note (encoders stop near 255)


def any_value(value: Any, depth: int = 0) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple, dict)) and depth >= MAX_DEPTH:
        return {"stringValue": f"(nested deeper than {MAX_DEPTH} levels: not exported)"}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v, depth + 1) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": key_values(value, depth + 1)}}
    return {"stringValue": str(value)}


def key_values(attributes: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    return [{"key": str(key), "value": any_value(value, depth)} for key, value in attributes.items()]


def span_json(span: Span) -> dict[str, Any]:
    body: dict[str, Any] = {"traceId": span.trace_id, "spanId": span.span_id, "name": span.name, "kind": 1}
    if span.parent_id is not None:
        body["parentSpanId"] = span.parent_id
    if span.start_ns is not None:
        body["startTimeUnixNano"] = str(span.start_ns)
    if span.end_ns is not None:
        body["endTimeUnixNano"] = str(span.end_ns)
    body["attributes"] = key_values(span.attributes)
    status: dict[str, Any] = {}
    if span.status in _STATUS_CODES:
        status["code"] = _STATUS_CODES[span.status]
    if span.status_message:
        status["message"] = span.status_message
    body["status"] = status
    if span.events:
        body["events"] = [
            {"timeUnixNano": str(e.time_ns or 0), "name": e.name, "attributes": key_values(e.attributes)} for e in span.events
        ]
    return body


def trace_request(spans: list[Span]) -> dict[str, Any]:
    """One request, grouped by service (each service becomes a resource)."""
    by_service: dict[str | None, list[Span]] = {}
    for span in spans:
        by_service.setdefault(span.service, []).append(span)
    resources = []
    for service, members in by_service.items():
        resource = {"attributes": key_values({"service.name": service})} if service else {}
        resources.append({"resource": resource, "scopeSpans": [{"scope": {"name": "orchtui.export"}, "spans": [span_json(s) for s in members]}]})
    return {"resourceSpans": resources}


def save_trace(spans: list[Span], directory: str | Path = ".") -> Path:
    """Write `orchtui-<name>-<trace id prefix>.otlp.json` into `directory` and return its path."""
    root = next((s for s in spans if s.parent_id is None), spans[0])
    path = Path(directory) / file_name(root.name, root.trace_id)
    path.write_bytes(orjson.dumps(trace_request(spans), option=orjson.OPT_INDENT_2) + b"\n")
    return path


def file_name(name: str, trace_id: str) -> str:
    """`orchtui-<name>-<id prefix>.otlp.json` of letters, digits, `_` and `-` only (no separator, no `..`, no
    NUL). An id that had to be changed gets a digest of the original, so two such traces do not share a file."""
    stem = _UNSAFE_IN_NAME.sub("_", str(name))[:40] or "trace"
    raw_id = str(trace_id)
    short = _UNSAFE_IN_NAME.sub("_", raw_id[:12]) or "noid"
    if short != raw_id[:12]:
        short += "-" + hashlib.sha256(raw_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"orchtui-{stem}-{short}.otlp.json"
