"""Trace text is data: make it safe to print in a terminal, a file name, a TOML or XML file.

Span names, ids, attribute values and messages come from programs we do not control. Some characters act instead
of showing: ESC sequences move the cursor, clear the screen, retitle the window or write the clipboard (OSC 52);
bidi overrides and isolates reorder what follows them; zero-width and other format characters hide text and shift
table borders (a terminal and Rich disagree on their width). Every string from a trace passes `printable` on its
way to any output, which shows each such character as a visible escape (`\\x1b`, `\\u202e`, `\\U000e0041`), so it
can neither act nor hide. UNSAFE is that one definition; the TOML writer (gate.py) escapes the same characters in
its own syntax.

Rich and Textual markup is never parsed from trace text: callers put the result into `rich.text.Text` or
`textual.content.Content` objects (or pass `markup=False`), never into a markup string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import BinaryIO

# Unicode categories Cc (controls), Cf (format: bidi, zero-width, tags, soft hyphen...), Cs (lone surrogates, which
# cannot even be encoded), Zl/Zp (line and paragraph separators, newlines to some terminals), as of Unicode 14;
# plus the noncharacters (U+FFFE, U+FFFF and the like, forbidden in XML) and the invisible fillers that render as
# blanks (combining grapheme joiner, Hangul fillers, Khmer inherent vowels). Newline and tab are handled apart.
# tests/test_hostile_output.py checks this class against `unicodedata` for every code point.
_UNSAFE_RANGES = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160"
    "\u17b4\u17b5\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ud800-\udfff\ufdd0-\ufdef"
    "\ufeff\uffa0\ufff9-\ufffb\ufffe\uffff\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    + "".join(f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0x10000, 0x110000, 0x10000))
)
UNSAFE = re.compile(f"[{_UNSAFE_RANGES}]")  # the characters that must never reach an output unescaped
_UNSAFE_OR_LAYOUT = re.compile(f"[{_UNSAFE_RANGES}\t\n]")
ELLIPSIS = "…"


def escape_char(char: str) -> str:
    """The visible, Python-style escape of one character: `\\x1b`, `\\u202e`, `\\U000e0041`."""
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _escape(match: re.Match[str]) -> str:
    return escape_char(match.group(0))


def _escape_flat(match: re.Match[str]) -> str:
    char = match.group(0)
    return " " if char in "\t\n" else escape_char(char)


def printable(text: object, single_line: bool = False, limit: int | None = None) -> str:
    """`text` with every acting or invisible character shown escaped. Newlines and tabs stay (a CR-LF pair is a
    newline; a lone CR is escaped: it would overwrite the line); with `single_line` they become spaces. With
    `limit`, at most that many characters of the input are kept, then `…` (titles, toasts, palette entries)."""
    value = text if isinstance(text, str) else str(text)
    if limit is not None and len(value) > limit:
        value = value[: max(0, limit - 1)] + ELLIPSIS
    if "\r\n" in value:
        value = value.replace("\r\n", "\n")
    if single_line:
        return _UNSAFE_OR_LAYOUT.sub(_escape_flat, value)
    return UNSAFE.sub(_escape, value)



def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code > 0xFFFF:  # JSON spells an astral character as its UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


_ASCII = bytes(range(128))


def json_bytes(document: object) -> bytes:
    """`document` as indented JSON whose every acting or invisible character is a `\\u` escape. The data is the
    same (JSON reads `\\u202e` as U+202E) but printing it to a terminal cannot act: the encoder escapes only C0
    controls and leaves DEL, C1 controls and bidi overrides raw."""
    import orjson

    return _inert_json(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))


def _inert_json(encoded: bytes) -> bytes:
    """Encoded JSON with its acting characters escaped. Such characters occur only inside strings, and the only
    ASCII one is DEL: JSON without them is returned as encoded, with no copy (a `check --json` of 100k spans is
    megabytes, and its copies were the command's peak memory). Whether it has any is asked of its multi-byte
    characters alone (every ASCII byte deleted): an `eval` report's dashes had sent every report through the
    regex (0.3 s and two copies for 30k spans)."""
    if b"\x7f" not in encoded and not UNSAFE.search(encoded.translate(None, _ASCII).decode()):
        return encoded
    return UNSAFE.sub(_json_escape, encoded.decode()).encode()


class Streamed:
    """A document's long list, given as the items it will hold and encoded a batch at a time by `write_json`:
    the results of `eval` over a big file never exist all at once as dicts, nor as one string of JSON."""

    def __init__(self, items: Iterable[object]) -> None:
        self.items = items


STREAM_BATCH = 256  # items encoded and written together


def write_json(out: BinaryIO, document: dict[str, object]) -> None:
    """`document` written exactly as `json_bytes` writes it (the same bytes: tests/orchtui/test_json_stream.py),
    but a value given as `Streamed` is written a batch of items at a time."""
    import orjson

    if not any(isinstance(value, Streamed) for value in document.values()):  # an empty document too
        out.write(json_bytes(document))
        return
    out.write(b"{\n")
    for index, (key, value) in enumerate(document.items()):
        out.write(b"  " + _inert_json(orjson.dumps(key)) + b": ")
        if isinstance(value, Streamed):
            _write_items(out, value.items)
        else:
            out.write(_indented(value, 2))
        out.write(b",\n" if index < len(document) - 1 else b"\n}\n")


def _write_items(out: BinaryIO, items: Iterable[object]) -> None:
    """A list at the document's first level: `[`, each item indented four spaces, `]` under its key."""
    batch: list[bytes] = []
    written = False
    for item in items:
        batch.append(b"    " + _indented(item, 4))
        if len(batch) == STREAM_BATCH:
            out.write((b",\n" if written else b"[\n") + b",\n".join(batch))
            batch, written = [], True
    if batch:
        out.write((b",\n" if written else b"[\n") + b",\n".join(batch))
        written = True
    out.write(b"\n  ]" if written else b"[]")


def _indented(value: object, depth: int) -> bytes:
    """`value` encoded as it reads `depth` spaces in: newlines occur in indented JSON only between tokens (a
    string's are escaped), so each gains the depth."""
    import orjson

    return _inert_json(orjson.dumps(value, option=orjson.OPT_INDENT_2)).replace(b"\n", b"\n" + b" " * depth)
