"""The OpenTelemetry Python SDK `ConsoleSpanExporter` output (not OTLP).

The exporter writes `span.to_json(indent=4) + os.linesep` per span: pretty-printed objects back to back, `0x`
ids, ISO times with microseconds, flat attribute dicts. Also accepted: a JSON array of such objects and one
compact object per line (the exporter's `formatter` option).

Pretty-printed objects are cut out with a line regex instead of a character scanner: JSON strings cannot hold
a raw newline and nested braces are indented, so a line that is exactly `{` starts an object and the next line
that is exactly `}` ends it. A broken object costs itself only, reported at the line where it starts. The
exporter writes to stdout by default, so non-JSON lines between objects (the program's own prints) are
counted as skipped, not reported as errors.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

import orjson

from .conventions import apply_attributes
from .jsonl import parse_lines
from .result import ParseResult
from .span import ERROR, OK, UNSET, Source, Span, SpanEvent
from .values import normalize_id, object_field, text_field, to_ns

FORMAT = "otel-console"

_STATUS = {"OK": OK, "ERROR": ERROR, "UNSET": UNSET}
_OBJECT_START = re.compile(rb"^\{[ \t]*\r?$", re.M)
_OBJECT_END = re.compile(rb"^\}[ \t]*\r?$", re.M)
_OTHER_OUTPUT = "lines outside span objects"


def parse_record(record: Any, source: Source) -> list[Span]:
    """One decoded span object (or a list of them) -> spans."""
    if isinstance(record, list):
        return [span for item in record for span in parse_record(item, source)]
    if not isinstance(record, dict) or not isinstance(record.get("context"), dict):
        raise ValueError("not a console exporter span (no context object)")
    context = record["context"]
    trace_id = normalize_id(context.get("trace_id"))
    span_id = normalize_id(context.get("span_id"))
    if trace_id is None or span_id is None:
        raise ValueError("span without context.trace_id/span_id")
    status = record.get("status") or {}
    resource = (record.get("resource") or {}).get("attributes") or {}
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=normalize_id(record.get("parent_id")),
        name=text_field(record.get("name"), "name") or "",
        start_ns=to_ns(record.get("start_time")),
        end_ns=to_ns(record.get("end_time")),
        status=_STATUS.get(status.get("status_code"), UNSET),
        status_message=text_field(status.get("description"), "status.description") or None,
        service=resource.get("service.name"),
        source=source,
    )
    events = record.get("events")
    if events:
        span.events = [
            SpanEvent(text_field(event.get("name"), "event name") or "", to_ns(event.get("timestamp")), object_field(event.get("attributes"), "event attributes"))
            for event in events
        ]
    apply_attributes(span, object_field(record.get("attributes"), "attributes"))
    return [span]


def parse(data: bytes, source_name: str) -> ParseResult:
    """Pretty-printed objects, a JSON array, or compact lines (also when their first line is the broken one)."""
    result = ParseResult(format=FORMAT)
    stripped = data.lstrip()
    if stripped[:1] == b"[":
        return _parse_array(stripped, source_name, result)
    try:
        orjson.loads(stripped.split(b"\n", 1)[0])
    except orjson.JSONDecodeError:
        if _OBJECT_START.search(data):
            return _parse_pretty(data, source_name, result)
    return parse_lines(data, source_name, parse_record, result)


def _parse_array(data: bytes, source_name: str, result: ParseResult) -> ParseResult:
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        result.error(source_name, f"not valid JSON: {exc}")
        return result
    for index, item in enumerate(items):
        _add(item, Source(source_name, index=index), result)
    return result


def _parse_pretty(data: bytes, source_name: str, result: ParseResult) -> ParseResult:
    starts = [m.start() for m in _OBJECT_START.finditer(data)]
    ends = [m.end() for m in _OBJECT_END.finditer(data)]
    lines = _LineCounter(data)
    previous_end = 0
    for number, start in enumerate(starts):
        _outside(data, previous_end, start, source_name, lines, result)
        following = starts[number + 1] if number + 1 < len(starts) else len(data)
        line = lines.at(start)
        source = Source(source_name, line)
        at = bisect_right(ends, start)
        if at == len(ends) or ends[at] > following:
            last = number + 1 == len(starts)
            reason = "incomplete last object (is the file still being written?)" if last else "object never closed"
            result.error(str(source), reason)
            previous_end = following
            continue
        previous_end = ends[at]
        try:
            record = orjson.loads(data[start:previous_end])
        except orjson.JSONDecodeError as exc:
            result.error(str(source), f"not valid JSON: {exc}")
            continue
        _add(record, source, result)
    _outside(data, previous_end, len(data), source_name, lines, result)
    return result


def _outside(data: bytes, begin: int, end: int, source_name: str, lines: _LineCounter, result: ParseResult) -> None:
    """Text between objects: another program's prints are skipped; the tail of an object is a broken object."""
    text = data[begin:end]
    if not text.strip():
        return
    if _OBJECT_END.search(text):
        first = begin + len(text) - len(text.lstrip())
        result.error(f"{source_name}:{lines.at(first)}", "part of an object whose start is missing")
        return
    result.skip(_OTHER_OUTPUT, sum(1 for line in text.splitlines() if line.strip()))


def _add(record: Any, source: Source, result: ParseResult) -> None:
    result.read_record(source, lambda: parse_record(record, source))


class _LineCounter:
    """1-based line numbers of increasing byte offsets, counting each stretch of the file once."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0
        self._line = 1

    def at(self, offset: int) -> int:
        self._line += self._data.count(b"\n", self._offset, offset)
        self._offset = offset
        return self._line
