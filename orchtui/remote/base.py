"""The interface every trace store implements, and what they share (URL parsing rules, credentials).

A source is read in one of two ways, each yielding `ParseResult`s (spans + read errors) as they arrive:

- `read_once()`: everything the URL selects (bounded by its `since`/`limit`), for headless commands and `open`;
- `poll()`: spans new since the previous call (de-duplicated by span id), for `tail`; called on a worker thread.

`label` names the source in the UI and reports: the URL without credentials or secrets. `short_label(label)` is
how the status line and the `!` screen show it (`jaeger 127.0.0.1:16686 service=s`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol
from urllib.parse import parse_qsl, unquote

from parsers.result import ParseResult

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# URL parameters that say how a store is read, not what is read: left out of the short label.
_HOW_PARAMS = frozenset(("since", "limit", "lag", "timeout", "interval", "pushdown"))
_SECRET_PARAM = re.compile(r"pass|secret|token|key|auth|bearer|credential", re.IGNORECASE)


class RemoteError(Exception):
    """A store that cannot be read (bad URL, refused connection, HTTP error): said once, exit status 2."""


class RemoteSource(Protocol):
    label: str

    def read_once(self) -> Iterator[ParseResult]: ...

    def poll(self) -> Iterator[ParseResult]: ...


def is_url(text: str) -> bool:
    """Whether a command-line input names a store rather than a path (`scheme://…`)."""
    return bool(_URL.match(text))


def redact_url(url: str) -> str:
    """A URL safe to show: scheme, host, port and path, without `user:password@`, query or fragment (a URL that
    was refused for carrying credentials must not print them in the refusal)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url.split("?", 1)[0]
    rest = rest.split("#", 1)[0].split("?", 1)[0]
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def short_label(url: str) -> str:
    """A store as the status line and the `!` screen name it: the scheme, a space, the address and path, and the
    parameters that say what is read (`jaeger 127.0.0.1:16686 service=s`, `phoenix 127.0.0.1:6006/agents`,
    `clickhouse default@ch:8123/otel table=otel_traces`); since/limit/lag/timeout/interval say how, and are left
    out. Made from a source's label or from a URL as typed: a password (`user:password@`) and secret-like
    parameters never show. Not escaped: a caller shows it through orchtui.textsafe.printable, as any text."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    address, _, query = rest.split("#", 1)[0].partition("?")
    authority, slash, path = address.partition("/")
    userinfo, at, host = authority.rpartition("@")
    user = userinfo.split(":", 1)[0]
    where = (f"{unquote(user)}@" if at and user else "") + host + (f"/{unquote(path.strip('/'))}" if path.strip("/") else "")
    try:
        pairs = parse_qsl(query, keep_blank_values=True)
    except ValueError:
        pairs = []
    shown = [f"{name}={value}" for name, value in pairs if name not in _HOW_PARAMS and not _SECRET_PARAM.search(name)]
    return " ".join([scheme.lower(), where, *shown]).rstrip()
