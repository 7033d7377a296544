"""Trace text is data: make it safe to print in a terminal.

Span names, attribute values and messages come from programs we do not control. Control bytes (ESC sequences
above all) could move the cursor, recolour or retitle the user's terminal, so every C0/C1 control character except
newline and tab is shown as a visible escape (`\\x1b`). Rich markup is never parsed from trace text: callers wrap
the result in `rich.text.Text`, never in a markup string.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group(0)):02x}"


def printable(text: object, single_line: bool = False) -> str:
    """`text` with control characters escaped; with `single_line`, newlines and tabs become spaces."""
    value = text if isinstance(text, str) else str(text)
    value = _CONTROL.sub(_escape, value)
    if single_line:
        value = value.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return value
