"""The interface every trace store implements, and what they share (URL parsing rules, credentials).

A source is read in one of two ways, each yielding `ParseResult`s (spans + read errors) as they arrive:

- `read_once()`: everything the URL selects (bounded by its `since`/`limit`), for headless commands and `open`;
- `poll()`: spans new since the previous call (de-duplicated by span id), for `tail`; called on a worker thread.

`label` names the source in the UI and reports: the URL without credentials or secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from parsers.result import ParseResult

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


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
