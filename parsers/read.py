"""Read a file or a byte payload of any supported format into spans.

The one entry point the engine uses: unwraps gzip, sniffs the format by content, and dispatches to the parser
module. A parser module exposes `parse(data, source_name) -> ParseResult`; line-oriented formats also expose
`parse_record(record, source) -> list[Span]` for followers that feed them one line at a time.
"""

from __future__ import annotations

import gzip
import importlib
import zlib
from pathlib import Path

from . import sniff as sniffing
from .result import ParseResult

# Format name -> parser module (imported on first use: protobuf support is heavy to import).
PARSERS = {
    sniffing.OTLP_JSON: "parsers.otlp_json",
    sniffing.OTLP_PROTO: "parsers.otlp_proto",
    sniffing.CONSOLE: "parsers.console",
    sniffing.READABLE_SPAN: "parsers.readable_span",
    sniffing.LANGSMITH: "parsers.langsmith",
    sniffing.AGENTS_SDK: "parsers.agents_sdk",
}

FORMAT_DESCRIPTIONS = {
    sniffing.OTLP_JSON: "OTLP/JSON (collector file exporter lines, a request, an array of requests, span lines)",
    sniffing.OTLP_PROTO: "OTLP protobuf (ExportTraceServiceRequest, or the collector's length-prefixed form)",
    sniffing.CONSOLE: "OpenTelemetry Python SDK ConsoleSpanExporter output",
    sniffing.READABLE_SPAN: "OpenTelemetry JS ReadableSpan dumps (e.g. Vercel AI SDK test fixtures)",
    sniffing.LANGSMITH: "LangSmith runs (ingest payload, list or JSON Lines)",
    sniffing.AGENTS_SDK: "OpenAI Agents SDK trace/span exports (JSON Lines)",
}


def parser_for(format_name: str):
    return importlib.import_module(PARSERS[format_name])


def unwrap(data: bytes, source_name: str, result: ParseResult) -> bytes | None:
    """Decompress gzip transparently (also a truncated .gz being written: keep what decompressed)."""
    if not data.startswith(sniffing.GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error):
        partial = zlib.decompressobj(wbits=31)
        try:
            recovered = partial.decompress(data)
        except zlib.error as exc:
            result.error(source_name, f"gzip data is corrupt: {exc}")
            return None
        result.error(source_name, "gzip stream is truncated; read what decompressed")
        return recovered


def parse_bytes(data: bytes, source_name: str, format_name: str | None = None) -> ParseResult:
    """Parse one payload; `format_name` skips sniffing when the caller already knows (e.g. a Content-Type)."""
    result = ParseResult()
    payload = unwrap(data, source_name, result)
    if payload is None:
        return result
    if not payload.strip():
        result.format = format_name
        return result
    name = format_name or sniffing.sniff(payload)
    if name is None:
        result.error(source_name, "unrecognised format: not OTLP JSON/protobuf, console exporter, LangSmith or Agents SDK")
        return result
    try:
        parsed = parser_for(name).parse(payload, source_name)
    except Exception as exc:  # noqa: BLE001 - a parser bug must cost one input, never the whole run
        result.format = name
        result.error(source_name, f"could not be read as {name}: {type(exc).__name__}: {exc}")
        return result
    parsed.errors[:0] = result.errors
    return parsed


def read_path(path: str | Path) -> ParseResult:
    """Read a whole file. An unreadable file is an error in the result, not an exception."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        result = ParseResult()
        result.error(str(path), f"cannot read: {exc.strerror or exc}")
        return result
    return parse_bytes(data, str(path))
