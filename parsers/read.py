"""Read a file or a byte payload of any supported format into spans.

The one entry point the engine uses: unwraps gzip, sniffs the format by content, and dispatches to the parser
module. A parser module exposes `parse(data, source_name) -> ParseResult`; line-oriented formats also expose
`parse_record(record, source) -> list[Span]` for followers that feed them one line at a time.
"""

from __future__ import annotations

import gzip
import importlib
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from . import sniff as sniffing
from .gzip_seek import GzipPart, IndexingReader
from .jsonl import parse_lines
from .result import ParseResult
from .span import ReadError

# Big line-oriented files are parsed in chunks, so the first traces show up at once and only one chunk's payloads
# are in memory before their traces are analysed and the payloads go back to the file: a 1 MiB chunk in flight was
# half of what `check` held for a 10k-span file (7 MB of 15), and 256 KiB parses 100k spans at the same speed.
CHUNK_BYTES = 256 << 10

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


def iter_read_path(path: str | Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[ParseResult, int]]:
    """Read a file in pieces, yielding (result, bytes of the file consumed so far).

    Formats whose lines stand alone (a module's `STREAMABLE`) are streamed chunk by chunk (cut at line ends, a
    partial line carried over), so a viewer shows the first traces of a multi-gigabyte file at once and memory
    holds one chunk of text at a time; other formats are read whole, because their parsers link records across
    the file (LangSmith post/patch pairs, Agents SDK trace lines). Gzip is decompressed as a stream. Errors still name the real line numbers.
    """
    source_name = str(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below; the generator may be abandoned early
    except OSError as exc:
        result = ParseResult()
        result.error(source_name, f"cannot read: {exc.strerror or exc}")
        yield result, 0
        return
    with raw:
        compressed = raw.read(2) == sniffing.GZIP_MAGIC
        raw.seek(0)
        # Gzip is decompressed with seek points saved as it goes, so its lines can be read back from the middle
        # like a plain file's (parsers/gzip_seek.py).
        stream = IndexingReader(raw, path) if compressed else raw
        reader = _SafeReader(stream, source_name)
        first = _through_first_line(reader.read, chunk_bytes)
        name, module = _sniff_lines(first)
        if module is None:
            if isinstance(stream, IndexingReader):  # read whole, its payloads stay in memory: no seek points
                stream.discard_index(path)
            whole = first + reader.read()
            result = parse_bytes(whole, source_name, name) if whole.strip() else ParseResult(format=name)
            result.errors.extend(reader.errors)
            yield result, raw.tell()
            return
        # Byte offsets of lines (in a gzip file, of the decompressed stream) let their payloads stay in the file.
        yield from _stream_lines(reader.read, first, chunk_bytes, source_name, name, module, 1, 0, raw.tell, reader.errors)


def _stream_lines(
    read: Callable[[int], bytes],
    data: bytes,
    chunk_bytes: int,
    source_name: str,
    name: str,
    module,
    line: int,
    offset: int | None,
    consumed: Callable[[], int],
    read_errors: list[ReadError],
) -> Iterator[tuple[ParseResult, int]]:
    """Parse `data` and what `read` gives after it, cut at line ends (a partial line carried over); the reader's
    own errors (a truncated gzip stream) come with the last result."""
    carry = b""
    while data:
        buffer = carry + data
        cut = buffer.rfind(b"\n") + 1
        chunk, carry = buffer[:cut], buffer[cut:]
        if chunk:
            yield _parse_chunk(chunk, source_name, name, module, line, offset), consumed()
            line += chunk.count(b"\n")
            if offset is not None:
                offset += len(chunk)
        data = read(chunk_bytes)
    final = _parse_chunk(carry, source_name, name, module, line, offset) if carry.strip() else ParseResult(format=name)
    final.errors.extend(read_errors)
    yield final, consumed()


def streamable_format(path: str | Path) -> str | None:
    """The format of a file whose lines stand alone (a module's `STREAMABLE`), plain or gzip-compressed, else
    None: such a file can be read in two parts, each on its own (`iter_read_range`, `iter_read_gzip_side`). A gzip
    file's text is sniffed from its start; a stream cut short (a file still being written) still sniffs."""
    decoder = zlib.decompressobj(wbits=31)

    def gunzip(size: int) -> bytes:
        return decoder.decompress(decoder.unconsumed_tail or raw.read(size), size)

    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == sniffing.GZIP_MAGIC
            raw.seek(0)
            first = _through_first_line(gunzip if compressed else raw.read, CHUNK_BYTES)
    except (OSError, zlib.error):
        return None
    name, module = _sniff_lines(first)
    return name if module is not None else None


def _through_first_line(read: Callable[[int], bytes], chunk_bytes: int) -> bytes:
    """The start of a file, read in chunks until it holds one whole first line (to sniff)."""
    first = read(chunk_bytes)
    while b"\n" not in first and (more := read(chunk_bytes)):
        first += more
    return first


def _sniff_lines(first: bytes) -> tuple[str | None, object | None]:
    """The format of a file that starts with `first`, and its parser module when its lines stand alone (the
    module's `STREAMABLE`, and the first line a whole record), else None: such a file is read line by line."""
    name = sniffing.sniff(first) if first.strip() else None
    module = parser_for(name) if name is not None else None
    if module is None or not getattr(module, "STREAMABLE", False) or not _first_line_is_a_record(first):
        return name, None
    return name, module


def line_start_after(path: str | Path, offset: int) -> int:
    """The offset of the first line that starts at or after `offset` (the file's size when none does)."""
    with open(path, "rb") as raw:
        if offset <= 0:
            return 0
        raw.seek(offset - 1)
        raw.readline()  # to the end of the line holding offset - 1
        return raw.tell()


def lines_before(path: str | Path, offset: int) -> int:
    """How many line ends the file has before `offset`."""
    count = 0
    with open(path, "rb") as raw:
        remaining = offset
        while remaining > 0 and (block := raw.read(min(remaining, 1 << 22))):
            count += block.count(b"\n")
            remaining -= len(block)
    return count


def iter_read_range(
    path: str | Path, format_name: str, start: int, end: int, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[ParseResult, int]]:
    """The lines of bytes [start, end) of a plain file in a streamable format (`streamable_format`), `start` and
    `end` at line starts, read as `iter_read_path` reads the whole file: the same spans, the same line numbers and
    offsets in errors and sources. Yields (result, bytes of the range consumed so far)."""
    module = parser_for(format_name)
    first_line = 1 + lines_before(path, start)
    with open(path, "rb") as raw:
        raw.seek(start)
        remaining = end - start

        def read(size: int) -> bytes:
            nonlocal remaining
            data = raw.read(min(size, remaining))
            remaining -= len(data)
            return data

        def consumed() -> int:
            return end - start - remaining

        yield from _stream_lines(read, read(chunk_bytes), chunk_bytes, str(path), format_name, module, first_line, start, consumed, [])


def iter_read_gzip_side(
    path: str | Path, format_name: str, cut_into: int, *, first: bool, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[ParseResult, int]]:
    """The lines of one side of a gzip file cut in two (parsers/gzip_seek.py `GzipPart`: near compressed offset
    `cut_into`, at a line start), read as `iter_read_path` reads the whole file: the same spans, line numbers and
    decompressed offsets. Yields (result, compressed bytes of this side consumed so far). The first side keeps
    seek points for the whole file, so this process reads back the other side's payloads too: once its lines are
    read it decodes the rest of the file for them (about 0.35 s for 170 MB of text)."""
    module = parser_for(format_name)
    with open(path, "rb") as raw:
        part = GzipPart(raw, path, cut_into, first=first)
        reader = _SafeReader(part, str(path))

        def consumed() -> int:
            return min(raw.tell(), cut_into) if first else max(0, raw.tell() - cut_into)

        line, offset = (1, 0) if first else (1 + part.lines_before, part.cut or 0)
        yield from _stream_lines(reader.read, reader.read(chunk_bytes), chunk_bytes, str(path), format_name, module, line, offset, consumed, reader.errors)
        if first:
            part.index_the_rest()


def _parse_chunk(chunk: bytes, source_name: str, name: str, module, first_line: int, offset: int | None) -> ParseResult:
    result = ParseResult(format=name)
    try:
        parse_lines(chunk, source_name, module.parse_record, result, first_line=first_line, first_offset=offset)
    except Exception as exc:  # noqa: BLE001 - same rule as parse_bytes: one bad chunk, not the whole run
        result.error(f"{source_name}:{first_line}", f"could not be read as {name}: {type(exc).__name__}: {exc}")
    return result


class _SafeReader:
    """Reads a (possibly gzip) stream; a truncated or corrupt gzip ends the stream with an error, not a crash."""

    def __init__(self, stream, source_name: str) -> None:
        self._stream = stream
        self._source = source_name
        self.errors: list = []
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size < 0:  # piecewise, so a truncated stream still returns everything before the damage
            pieces = []
            while piece := self.read(1 << 20):
                pieces.append(piece)
            return b"".join(pieces)
        if self._done:
            return b""
        try:
            return self._stream.read(size)
        except (EOFError, OSError, zlib.error) as exc:
            self._done = True
            result = ParseResult()
            result.error(self._source, f"gzip stream is truncated or corrupt ({exc}); read what decompressed")
            self.errors.extend(result.errors)
            return b""


def _first_line_is_a_record(payload: bytes) -> bool:
    try:
        orjson.loads(payload.lstrip().split(b"\n", 1)[0])
    except orjson.JSONDecodeError:
        return False
    return True
