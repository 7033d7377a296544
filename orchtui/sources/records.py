"""The bytes of one followed file, turned into spans one record at a time, never raising.

A follower reads a file in arbitrary pieces, so a record can arrive split anywhere: the unfinished last record
(a line without its newline, a protobuf frame not yet whole) is carried until the rest arrives, then parsed
exactly once. Two framings exist: line-oriented JSON formats, and the collector's length-prefixed protobuf (what
`orchtui serve` spools for protobuf exporters), told apart by the first bytes only once there are enough of them
to decide (a 4-byte length prefix alone could be either).

Trace data is hostile: whatever a parser raises on one record is reported as a read error naming `file:line` (or
`file[frame]`) and the records around it are still read, so one bad value never stops a live view.
"""

from __future__ import annotations

import re

import orjson

from parsers.jsonl import iter_lines, parse_lines
from parsers.read import parser_for
from parsers.result import ParseResult
from parsers.sniff import GZIP_MAGIC, OTLP_PROTO, classify_record
from parsers.span import Source

LINES = "lines"
FRAMES = "frames"
PREFIX = 4  # bytes of a frame's big-endian length
MAX_FRAME = 1 << 30  # a larger length prefix is not a frame (the sniffing bound of parsers.sniff too)
_WHITESPACE = b" \t\r\n"
# A writer without O_APPEND keeps writing at its old offset after `copytruncate`: the file starts with a hole
# of NUL bytes, which belong to no record.
_LEADING_NULS = re.compile(rb"(?m)^\x00+")


def framing_of(buffer: bytes) -> str | None:
    """LINES or FRAMES for the first bytes of a file; None while too few bytes have arrived to tell."""
    stripped = buffer.lstrip(_WHITESPACE)
    if stripped[:1] in (b"{", b"["):
        return LINES
    if not stripped:
        return None  # blank so far: JSON may still follow
    start = 0
    while buffer[start : start + PREFIX] == b"\x00" * PREFIX:  # empty messages
        start += PREFIX
    head = buffer[start : start + PREFIX + 1]
    if len(head) <= PREFIX:
        return None  # a length prefix may be all there is yet
    if 0 < int.from_bytes(head[:PREFIX], "big") < MAX_FRAME and head[PREFIX:] == b"\x0a":
        return FRAMES  # a length, then field 1 (resource_spans) of an ExportTraceServiceRequest
    return LINES


class RecordReader:
    """Decodes one file's byte stream: `feed` the new bytes, get the spans and read errors of the records they
    completed. `line` numbers the next record (a line, or a frame counted from 1)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.restart()

    def restart(self) -> None:
        """The file starts over (truncated, or a new file under the same name)."""
        self.line = 1
        self.carry = b""
        self.framing: str | None = None
        self.format: str | None = None
        self._unknown_reported = False

    def feed(self, data: bytes, parse: bool = True, offset: int | None = None) -> ParseResult:
        """Read the records `data` completes. With `parse=False` (history skipped by `--from-end`) records are
        only counted, and an unfinished last one is still carried, to be read whole when its end arrives.
        `offset`, where `data` begins in the file, lets the spans of its lines leave their payloads in the file."""
        start = None if offset is None else offset - len(self.carry)
        buffer = self.carry + data
        if self.framing is None:
            self.framing = framing_of(buffer)
            if self.framing is None:
                self.carry = buffer
                return ParseResult()
        if self.framing == FRAMES:
            return self._frames(buffer, parse)
        return self._lines(buffer, parse, start)

    def finish(self) -> ParseResult:
        """The file ended for good (rotated away): its last line is complete even without a newline; a frame
        still unfinished is lost, and said so."""
        result = ParseResult()
        if self.carry.strip() and self.framing != FRAMES:
            result = self.feed(b"\n")
        elif self.carry:
            result.error(f"{self.name}[{self.line - 1}]", f"message {self.line - 1}: the file ended inside it")
        self.restart()
        return result

    # -- line-oriented formats -------------------------------------------------------------------------------------

    def _lines(self, buffer: bytes, parse: bool, start: int | None) -> ParseResult:
        cut = buffer.rfind(b"\n") + 1
        complete, self.carry = buffer[:cut], buffer[cut:]
        first = self.line
        self.line += complete.count(b"\n")
        if not complete or not parse:
            return ParseResult(format=self.format)
        if b"\x00" in complete:
            complete = _LEADING_NULS.sub(b"", complete)
            start = None  # the bytes moved: no line offsets in this block
        if self.format is None:
            self.format = _format_of(complete)
            if self.format is None:
                return self._unknown(complete, first)
        return read_lines(complete, self.name, first, self.format, start)

    def _unknown(self, complete: bytes, first: int) -> ParseResult:
        """No line so far is a record of a format this follower reads: said once, then lines are passed over
        until one is (a file that turns into a trace file later is still followed)."""
        result = ParseResult()
        if not self._unknown_reported:
            self._unknown_reported = True
            if first == 1 and complete.startswith(GZIP_MAGIC):  # a stream that decodes only whole cannot be followed
                result.error(f"{self.name}:1", "gzip-compressed: a followed file must be plain text (orchtui open reads a .gz)")
                return result
            number = next((n for n, _ in iter_lines(complete, first)), first)
            result.error(f"{self.name}:{number}", "not a record of a line-oriented trace format; skipping lines until one is")
        return result

    # -- length-prefixed protobuf ------------------------------------------------------------------------------------

    def _frames(self, buffer: bytes, parse: bool) -> ParseResult:
        """`line` counts frames here, so errors name `file[frame]`."""
        from parsers.otlp_proto import parse_message

        result = ParseResult(format=OTLP_PROTO)
        position = 0
        while len(buffer) - position >= PREFIX:
            length = int.from_bytes(buffer[position : position + PREFIX], "big")
            if len(buffer) - position - PREFIX < length:
                break
            frame = self.line - 1
            if parse:
                body = buffer[position + PREFIX : position + PREFIX + length]
                one = ParseResult(format=OTLP_PROTO)
                try:
                    parse_message(body, Source(self.name, index=frame), f"message {frame}: ", one)
                except Exception as exc:  # noqa: BLE001 - one bad message costs nothing else
                    result.error(f"{self.name}[{frame}]", f"message {frame}: cannot be read: {describe_failure(exc)}")
                else:
                    result.merge(one)
            self.line += 1
            position += PREFIX + length
        self.carry = buffer[position:]
        return result


def read_lines(block: bytes, name: str, first_line: int, format: str, first_offset: int | None = None) -> ParseResult:
    """Parse complete lines; whatever the parser raises costs only the line that raised it.

    The whole block is parsed in one call (the fast path); only if that raises is it parsed again line by line,
    from a fresh result, so no span is delivered twice. Lines of a format whose lines stand alone (`STREAMABLE`)
    get their byte offsets from `first_offset`: their payloads can go back to the file (parsers/payloads.py).
    """
    module = parser_for(format)
    parse_record = module.parse_record
    if not getattr(module, "STREAMABLE", False):
        first_offset = None
    try:
        return parse_lines(block, name, parse_record, ParseResult(format=format), first_line, first_offset)
    except Exception:  # noqa: BLE001, S110 - the line that raised is found below
        pass
    result = ParseResult(format=format)
    for number, text in iter_lines(block, first_line):
        one = ParseResult(format=format)
        try:
            parse_lines(text + b"\n", name, parse_record, one, first_line=number)
        except Exception as exc:  # noqa: BLE001 - one bad record costs nothing else
            result.error(f"{name}:{number}", f"cannot be read: {describe_failure(exc)}")
        else:
            result.merge(one)
    return result


def _format_of(lines: bytes) -> str | None:
    """The format of the first line that is a record of a known format."""
    for _, line in iter_lines(lines):
        try:
            format = classify_record(orjson.loads(line))
        except (orjson.JSONDecodeError, RecursionError):
            continue
        if format is not None:
            return format
    return None


def describe_failure(exc: BaseException) -> str:
    """`Type: message`, the message cut short: it may quote the hostile value that caused it."""
    text = str(exc)
    if len(text) > 200:
        text = text[:200] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
