"""Which failed tool calls were timeouts: the routes screen counts them per route.

Decided when the trace is analysed, while its spans still hold their payloads: the evidence is in the events and
attributes (an exception's type and message, an HTTP status), which go back to the file after the analysis, and
the routes of a trace adopted from a worker process (orchtui/split_load.py) would read them all back again (2,876
records while opening a 1M-span file).
"""

from __future__ import annotations

import re

from parsers.span import ERROR, Span

from .calls import ToolCall

_TIMEOUT_TEXT = re.compile(r"timed?[\s_-]?out|deadline|\b(?:http|status|code)\b[\s:=]*(?:408|504)\b", re.IGNORECASE)
_TIMEOUT_CODES = frozenset({408, 504})
_STATUS_KEYS = ("http.status_code", "http.response.status_code", "status_code", "error.type")


def tool_timeouts(calls: list[ToolCall]) -> int:
    """How many of the executed `calls` failed by timing out (each read from its span)."""
    return sum(1 for call in calls if call.executed and call.status == ERROR and _is_timeout(call.error, call.span))


def _is_timeout(message: str | None, span: Span | None) -> bool:
    texts = [message] if message else []
    if span is not None:
        if span.status_message:
            texts.append(span.status_message)
        for event in span.events:
            if event.name == "exception":
                texts.extend(str(event.attributes.get(key, "")) for key in ("exception.type", "exception.message"))
        for key in _STATUS_KEYS:
            value = span.attributes.get(key)
            if value is None:
                continue
            try:
                if int(value) in _TIMEOUT_CODES:
                    return True
            except (TypeError, ValueError):
                texts.append(str(value))
    return any(_TIMEOUT_TEXT.search(text) for text in texts)
