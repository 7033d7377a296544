"""Line-by-line JSON reading shared by every JSON Lines format.

A bad line is reported with `file:line` and the rest is still read. A last line without its newline that does
not parse is the normal state of a file still being written, and is reported as such rather than as garbage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson

from .result import ParseResult
from .span import Source, Span

RecordParser = Callable[[Any, Source], list[Span]]


def iter_lines(data: bytes, first_line: int = 1) -> Iterator[tuple[int, bytes]]:
    """(line number, stripped line) for every non-blank line; numbering starts at `first_line`."""
    for number, line in enumerate(data.split(b"\n"), first_line):
        line = line.strip()
        if line:
            yield number, line


def parse_lines(
    data: bytes, source_name: str, parse_record: RecordParser, result: ParseResult, first_line: int = 1
) -> ParseResult:
    """Decode each line as JSON and hand it to `parse_record`; collect spans and per-line errors.

    `first_line` numbers the lines of a chunk cut from the middle of a file, so errors still name the real line.
    """
    last_complete = data.endswith(b"\n")
    total_lines = first_line + data.count(b"\n")
    spans = result.spans
    for number, line in iter_lines(data, first_line):
        source = Source(source_name, number)
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if number == total_lines and not last_complete:
                result.error(str(source), "incomplete last line (is the file still being written?)")
            else:
                result.error(str(source), f"not valid JSON: {exc}")
            continue
        try:
            spans.extend(parse_record(record, source))
        except RecordSkipped as skipped:
            result.skip(skipped.what)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            result.error(str(source), f"unexpected record shape: {describe(exc)}")
    return result


class RecordSkipped(Exception):
    """Raised by a record parser for records that are valid but not spans (OTLP metric and log lines)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def describe(exc: BaseException) -> str:
    """A short, human message for a parse failure inside a record."""
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return f"{type(exc).__name__}: {exc}"


def parse_lines_or_document(data: bytes, source_name: str, parse_record: RecordParser, result: ParseResult) -> ParseResult:
    """JSON Lines when the first line is a whole JSON value, else one document (an object or an array of records).

    Each array element is its own record, reported as `file[index]` when it cannot be read.
    """
    try:
        orjson.loads(data.lstrip().split(b"\n", 1)[0])
    except orjson.JSONDecodeError:
        pass
    else:
        return parse_lines(data, source_name, parse_record, result)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        result.error(source_name, f"not valid JSON: {exc}")
        return result
    items = document if isinstance(document, list) else [document]
    for index, item in enumerate(items):
        source = Source(source_name) if len(items) == 1 else Source(source_name, index=index)
        try:
            result.spans.extend(parse_record(item, source))
        except RecordSkipped as skipped:
            result.skip(skipped.what)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            result.error(str(source), f"unexpected record shape: {describe(exc)}")
    return result
