"""Spans as Arize Phoenix's REST API returns them (`GET /v1/projects/<p>/spans/otlpv1`), read back to what the
producer sent.

Each span of the page's `data` is an OTLP/JSON span object in snake_case (`trace_id`, `start_time_unix_nano`),
hex ids, every AnyValue with all its members spelled out and all but one null (otlp_json.decode_value takes the
non-null one). Phoenix changed two things on the way in, undone here (phoenix `trace/otel.py`, `trace/attributes.py`
and `server/api/routers/v1/spans.py`, arize-phoenix 20.x):

- Times: stored as microsecond datetimes and returned as `int(datetime.timestamp() * 1e9)`, a float product that
  lands a few hundred nanoseconds off the microsecond and is then truncated. Rounded to the nearest microsecond,
  they are exactly what Phoenix stored.
- JSON-string attributes (`metadata`, `llm.prompt_template.variables`, `tool.parameters`, `*.document.metadata`)
  were parsed into objects on ingest and come back flattened (`metadata.langgraph_step`). They are folded back
  into one JSON string under their own key, as the producer wrote them (OpenInference keeps LangGraph's step and
  node in the `metadata` string).

What Phoenix does not keep cannot come back: resource attributes (so `service.name`: no service), span links,
and time below the microsecond.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from .span import Source, Span

# Phoenix's JSON_STRING_ATTRIBUTES: keys whose JSON string value it stores as an object.
_FOLDED_KEYS = ("metadata", "llm.prompt_template.variables", "tool.parameters")
_FOLDED_SUFFIX = "document.metadata"


def phoenix_span(obj: Any, source: Source | None, read: Callable[..., Span]) -> Span:
    """One span object of an otlpv1 page -> Span (`read` is otlp_json.span_from_otlp)."""
    if not isinstance(obj, dict):
        raise ValueError(f"a {type(obj).__name__} where a span object belongs")
    attributes = obj.get("attributes")
    if isinstance(attributes, list) and any(_folded_key(kv) for kv in attributes):
        obj = {**obj, "attributes": _fold(attributes)}
    span = read(obj, None, source)
    span.start_ns = _to_microsecond(span.start_ns)
    span.end_ns = _to_microsecond(span.end_ns)
    for event in span.events or ():
        event.time_ns = _to_microsecond(event.time_ns)
    return span


def _to_microsecond(ns: int | None) -> int | None:
    return None if ns is None else (ns + 500) // 1000 * 1000


def _folded_key(kv: Any) -> str | None:
    """The JSON-string attribute a flattened key belongs to (`metadata` for `metadata.langgraph_step`), or None."""
    key = kv.get("key") if isinstance(kv, dict) else None
    if not isinstance(key, str):
        return None
    for base in _FOLDED_KEYS:
        if key.startswith(base) and key[len(base) : len(base) + 1] == ".":
            return base
    at = key.find(f".{_FOLDED_SUFFIX}.")
    if at != -1:
        return key[: at + 1 + len(_FOLDED_SUFFIX)]
    if key.startswith(f"{_FOLDED_SUFFIX}."):
        return _FOLDED_SUFFIX
    return None


def _fold(attributes: list[Any]) -> list[Any]:
    """The attribute list with each flattened JSON-string attribute folded back into one string value, in the
    place of its first key."""
    from .otlp_json import decode_value

    trees: dict[str, dict[str, Any]] = {}
    folded: list[Any] = []
    for kv in attributes:
        base = _folded_key(kv)
        if base is None:
            folded.append(kv)
            continue
        if base not in trees:
            trees[base] = {}
            folded.append({"key": base, "value": None})  # placeholder, filled below
        node = trees[base]
        path = kv["key"][len(base) + 1 :].split(".")
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = decode_value(kv.get("value"))
    for kv in folded:
        if kv.get("value") is None and kv.get("key") in trees:
            kv["value"] = {"stringValue": orjson.dumps(_lists(trees[kv["key"]])).decode()}
    return folded


def _lists(node: Any) -> Any:
    """Objects whose keys are 0..n-1 were lists of objects before Phoenix flattened them."""
    if not isinstance(node, dict):
        return node
    items = {key: _lists(value) for key, value in node.items()}
    if items and set(items) == {str(index) for index in range(len(items))}:  # exactly "0".."n-1": no "00", no "²"
        return [items[str(index)] for index in range(len(items))]
    return items
