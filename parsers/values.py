"""Ids and timestamps as producers really write them, reduced to one form.

Ids: hex in any case, `0x`-prefixed (SDK console exporter), base64 (protobuf JSON via MessageToDict), raw bytes
(binary protobuf), UUIDs and prefixed ids (`trace_...`, `span_...`). Hex and base64 ids become lowercase hex so
one trace written two ways still joins; anything else is kept as the opaque string it is.

Times: nanoseconds as numbers or decimal strings, ISO 8601 with any precision and offset, JS hrtime
`[seconds, nanos]`, and epoch milliseconds (LangSmith's JS SDK).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timezone
from typing import Any

from .issues import report

_HEX = frozenset("0123456789abcdefABCDEF")
_LOWER_HEX_ID = re.compile(r"[0-9a-f]{16}|[0-9a-f]{32}")


def normalize_id(value: Any) -> str | None:
    """An id as an opaque string; empty, zero-length or all-zero ids (OTLP's 'no parent') become None."""
    if value.__class__ is str and _LOWER_HEX_ID.fullmatch(value):  # the common case, already canonical
        return value if value.strip("0") else None
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return value.hex() if value and any(value) else None
    text = str(value).strip()
    if not text:
        return None
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    if _HEX.issuperset(text):
        text = text.lower()
        return None if not text.strip("0") else text
    if len(text) in (12, 24) and text.endswith("="):  # base64 of an 8- or 16-byte id
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return text
        return raw.hex() if any(raw) else None
    return text


def iso_to_ns(text: str) -> int | None:
    """ISO 8601 -> Unix nanoseconds, keeping all nine fraction digits that datetime would drop."""
    text = text.strip()
    if not text:
        return None
    fraction_ns = 0
    head = text
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdecimal():  # isdigit passes "²", which int refuses
            end += 1
        digits = text[dot + 1 : end]
        fraction_ns = int((digits + "000000000")[:9]) if digits else 0
        head = text[:dot] + text[end:]
    if head.endswith(("Z", "z")):
        head = head[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(head)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # API datetimes without a zone are UTC
    seconds = int(moment.timestamp())
    return seconds * 1_000_000_000 + fraction_ns


def to_ns(value: Any) -> int | None:
    """Any timestamp form -> Unix nanoseconds (None when absent, zero, unreadable or past year 9999)."""
    try:
        ns = _to_ns(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return ns if ns is None or 0 < ns <= MAX_NS else None


def _to_ns(value: Any) -> int | None:
    if value.__class__ is str and len(value) == 19 and value.isdecimal():  # OTLP/JSON nanos: the common case
        return int(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:  # JS hrtime [seconds, nanos]
        try:
            return int(value[0]) * 1_000_000_000 + int(value[1]) or None
        except (TypeError, ValueError):
            return None
    if isinstance(value, (int, float)):
        return _number_to_ns(value)
    text = str(value).strip()
    if not text:
        return None
    if text.isdecimal():
        return _number_to_ns(int(text))
    return iso_to_ns(text)


# The last instant a datetime can show (9999-12-31T23:59:59Z): later timestamps are corrupt, and crash formatting.
MAX_NS = 253_402_300_799 * 1_000_000_000


def time_field(value: Any, field: str) -> int | None:
    """A span or event timestamp: Unix nanoseconds from any form, or reported and unknown when it cannot be one."""
    ns = to_ns(value)
    if ns is None and value not in (None, "", 0, "0") and not isinstance(value, bool):
        report(field, f"{value!r} is not a timestamp before year 10000"[:120])
    return ns


def text_field(value: Any, field: str) -> str | None:
    """A field that holds text (span name, status message): other JSON types are reported and unknown."""
    if value is None or isinstance(value, str):
        return value
    report(field, f"a {type(value).__name__} where text belongs")
    return None


def object_field(value: Any, field: str) -> dict[str, Any]:
    """A field that holds an object of attributes (JS and console dumps): other JSON types are reported, empty."""
    if isinstance(value, dict):
        return value
    if value is not None:
        report(field, f"a {type(value).__name__} where an object belongs")
    return {}


def _number_to_ns(number: float) -> int | None:
    """Guess the unit from the magnitude: ns (>1e17), us (>1e14), ms (>1e11), else seconds."""
    if not number > 0 or number == float("inf"):  # also NaN
        return None
    if number > 1e17:
        return int(number)
    if number > 1e14:
        return int(number * 1_000)
    if number > 1e11:
        return int(number * 1_000_000)
    return int(number * 1_000_000_000)


def ns_to_iso(ns: int | None) -> str | None:
    """Unix nanoseconds -> ISO 8601 UTC with microseconds, for reports."""
    if ns is None:
        return None
    try:
        moment = datetime.fromtimestamp(ns / 1_000_000_000, tz=timezone.utc)
    except (OverflowError, ValueError, OSError):  # a timestamp no calendar shows
        return None
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
