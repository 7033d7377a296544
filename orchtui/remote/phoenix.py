"""`phoenix://HOST:6006/PROJECT?since=1h&limit=N`: spans from Arize Phoenix's REST API.

`GET /v1/projects/<project>/spans/otlpv1?limit=1000&start_time=…[&cursor=…]` pages spans newest first (Phoenix
orders them by its row id, descending: the order they were stored) and names the next page in `next_cursor`. Each
page is `{"data": [OTLP span objects], "next_cursor": …}`, read by the OTLP/JSON parser like a saved page
(parsers/phoenix_rest.py: every AnyValue member spelled out with all but one null, times back to Phoenix's
microsecond, flattened JSON-string attributes folded back). Phoenix keeps no resource, so spans read from it have
no service. The project is the path (a name or an id; `default` when there is none).

`limit` counts traces: once that many are seen, the following pages add only spans of those traces, and reading
stops at the first page holding none of them (a trace's spans are stored together, so it is whole in practice).
Live polls read from the newest span down to the first one already delivered (older spans are stored earlier:
nothing new lies beyond it), within `lag` before the previous poll.

The API key (`Authorization: Bearer`) comes from `PHOENIX_API_KEY` (as Phoenix's own client reads it) or the config
file's `[remote.phoenix] api_key`. `phoenix+https://` for TLS. Common parameters: orchtui/remote/http.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote

import orjson

from parsers import otlp_json
from parsers.result import ParseResult
from parsers.span import Source

from .base import RemoteError
from .http import HttpSource, credential, parse_url, rfc3339, server_text, window_start

DEFAULT_PORT = 6006
DEFAULT_PROJECT = "default"
KEY_ENV = "PHOENIX_API_KEY"
SECRETS = f"the Phoenix API key goes in {KEY_ENV} or the config file's [remote.phoenix] api_key"
PAGE = 1000  # spans per page: the most the endpoint serves


def open_source(url: str) -> "PhoenixSource":
    return PhoenixSource(url)


class PhoenixSource(HttpSource):
    def __init__(self, url: str) -> None:
        parsed = parse_url(url, "phoenix", DEFAULT_PORT, (), SECRETS)
        if "/" in parsed.path:
            raise RemoteError(f"a Phoenix URL names one project: phoenix://HOST:{DEFAULT_PORT}/PROJECT")
        super().__init__(parsed, parsed.label())
        self.project = parsed.path or DEFAULT_PROJECT

    def headers(self) -> dict[str, str]:
        key = credential("phoenix", "api_key", KEY_ENV)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def read_once(self) -> Iterator[ParseResult]:
        try:
            yield from self._read(window_start(self.url, None, time.time()), live=False)
        finally:
            self.close()

    def poll(self) -> Iterator[ParseResult]:
        now = time.time()
        first = self._last_poll is None
        start = window_start(self.url, self._last_poll, now)
        self._last_poll = now
        yield from self._read(start, live=not first)

    def _read(self, start: float | None, live: bool) -> Iterator[ParseResult]:
        """Pages newest first. Not `live` (a read, or a live source's first poll): up to `limit` traces. `live`:
        down to the first span already delivered."""
        chosen: set[str] = set()
        for result, seen_one in self._pages(start):
            if live:
                yield result
                if seen_one:
                    return
                continue
            kept = []
            for span in result.spans:
                if span.trace_id not in chosen and len(chosen) < self.url.limit:
                    chosen.add(span.trace_id)
                if span.trace_id in chosen:
                    kept.append(span)
            full = len(chosen) >= self.url.limit
            if full and not kept and result.spans:
                return  # a page with none of the chosen traces: they are complete
            result.spans = kept
            yield result

    def _pages(self, start: float | None) -> Iterator[tuple[ParseResult, bool]]:
        """(the page's spans not delivered before, whether it held one already delivered), page after page."""
        path = f"/v1/projects/{quote(self.project, safe='')}/spans/otlpv1"
        cursor: str | None = None
        number = 1
        while True:
            params = {"limit": str(PAGE)}
            if start is not None:
                params["start_time"] = rfc3339(start)
            if cursor:
                params["cursor"] = cursor
            answer = self._http().get(path, params, ok=(200, 404))
            if answer.status == 404:
                raise RemoteError(f"{self._no_project(answer.body)}")
            name = f"{self.label} page {number}"
            try:
                document = orjson.loads(answer.body)
            except orjson.JSONDecodeError:
                raise RemoteError(f"page {number} is not JSON: {server_text(answer.body)}") from None
            if not isinstance(document, dict) or not isinstance(document.get("data"), list):
                raise RemoteError(f"page {number} is not a Phoenix span page: {server_text(answer.body)}")
            result = ParseResult(format=otlp_json.FORMAT)
            source = Source(name)
            result.read_record(name, lambda: otlp_json.parse_record(document, source))
            total = len(result.spans)
            result = self._seen.fresh(result)
            yield result, len(result.spans) < total
            cursor = document.get("next_cursor")
            if not isinstance(cursor, str) or not cursor:
                return
            number += 1

    def _no_project(self, body: bytes) -> str:
        """What a 404 means: the project does not exist (say which do), or this is not Phoenix."""
        try:
            answer = self._http().get("/v1/projects", {"limit": "50"})
            names = [p.get("name") for p in orjson.loads(answer.body).get("data") or [] if isinstance(p, dict)]
        except (RemoteError, orjson.JSONDecodeError, AttributeError):
            return f"HTTP 404 ({server_text(body)}): is this Phoenix, and does project {server_text(self.project)!r} exist?"
        known = ", ".join(server_text(name) for name in names if isinstance(name, str)) or "none"
        return f"no project {server_text(self.project)!r} (projects: {known})"
