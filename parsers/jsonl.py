"""Line-by-line JSON reading shared by every JSON Lines format.

A bad line is reported with `file:line` and the rest is still read. A last line without its newline that does
not parse is the normal state of a file still being written, and is reported as such rather than as garbage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import orjson

from .result import ParseResult, RecordSkipped, describe
from .span import Source, Span

__all__ = ["RecordSkipped", "describe", "iter_lines", "parse_lines", "parse_lines_or_document"]

RecordParser = Callable[[Any, Source], list[Span]]


def iter_lines(data: bytes, first_line: int = 1) -> Iterator[tuple[int, bytes]]:
    """(line number, stripped line) for every non-blank line; numbering starts at `first_line`."""
    for number, line in enumerate(data.split(b"\n"), first_line):
        line = line.strip()
        if line:
            yield number, line


def parse_lines(
    data: bytes,
    source_name: str,
    parse_record: RecordParser,
    result: ParseResult,
    first_line: int = 1,
    first_offset: int | None = None,
) -> ParseResult:
    """Decode each line as JSON and hand it to `parse_record`; collect spans and per-line errors.

    `first_line` numbers the lines of a chunk cut from the middle of a file, so errors still name the real line.
    `first_offset`, the chunk's byte offset in a plain file, gives each line's source its offset: its spans'
    payloads can then be read back from the file instead of kept in memory (parsers/payloads.py).
    """
    last_complete = data.endswith(b"\n")
    total_lines = first_line + data.count(b"\n")
    for number, offset, line in _lines_at(data, first_line, first_offset):
        source = Source(source_name, number, offset=offset, reparse=None if offset is None else line_reader(parse_record))
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:  # (also values nested deeper than orjson's 1,024 levels)
            if number == total_lines and not last_complete:
                result.error(str(source), "incomplete last line (is the file still being written?)")
            else:
                result.error(str(source), f"not valid JSON: {exc}")
            continue
        result.read_record(source, lambda: parse_record(record, source))
    return result


MAX_REREAD_BYTES = 1 << 28  # a line read back longer than this is not the line that was read (256 MiB)


class LineReader:
    """Reads one line of a file again and parses it as it was parsed the first time (a Source's `reparse`)."""

    __slots__ = ("parse_record",)

    def __init__(self, parse_record: RecordParser) -> None:
        self.parse_record = parse_record

    def __call__(self, file: BinaryIO, source: Source) -> list[Span]:
        # Bounded: the file may have been rewritten since, with one endless line where this one stood.
        return self.parse_record(orjson.loads(file.readline(MAX_REREAD_BYTES)), source)


_LINE_READERS: dict[RecordParser, LineReader] = {}


def line_reader(parse_record: RecordParser) -> LineReader:
    """One reader per format, shared by every line of every file."""
    reader = _LINE_READERS.get(parse_record)
    if reader is None:
        reader = _LINE_READERS[parse_record] = LineReader(parse_record)
    return reader


def _lines_at(data: bytes, first_line: int, first_offset: int | None) -> Iterator[tuple[int, int | None, bytes]]:
    """(line number, byte offset of the line or None, stripped line) for every non-blank line."""
    if first_offset is None:
        for number, line in iter_lines(data, first_line):
            yield number, None, line
        return
    offset = first_offset
    for number, raw in enumerate(data.split(b"\n"), first_line):
        line = raw.strip()
        if line:
            yield number, offset, line
        offset += len(raw) + 1


def parse_lines_or_document(data: bytes, source_name: str, parse_record: RecordParser, result: ParseResult) -> ParseResult:
    """JSON Lines when the first line is a whole JSON value, else one document (an object or an array of records).

    A file whose first line is bad but whose other lines are JSON is still JSON Lines: the bad line is reported
    and the rest read. Each array element of a document is its own record, reported as `file[index]`.
    """
    if _is_json(data.lstrip().split(b"\n", 1)[0]):
        return parse_lines(data, source_name, parse_record, result)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if _later_line_is_json(data):
            return parse_lines(data, source_name, parse_record, result)
        result.error(source_name, f"not valid JSON: {exc}")
        return result
    items = document if isinstance(document, list) else [document]
    for index, item in enumerate(items):
        source = Source(source_name) if len(items) == 1 else Source(source_name, index=index)
        result.read_record(source, lambda: parse_record(item, source))
    return result


def _is_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _later_line_is_json(data: bytes) -> bool:
    """Is the second non-blank line a JSON value of its own (JSON Lines with a bad first line)?"""
    lines = (line for line in data.split(b"\n") if line.strip())
    next(lines, None)
    second = next(lines, None)
    return second is not None and second.lstrip()[:1] in (b"{", b"[") and _is_json(second)
