"""`phoenix://HOST:6006/PROJECT?since=1h&limit=N`: spans from Arize Phoenix's REST API.

`GET /v1/projects/<project>/spans/otlpv1?limit=1000&start_time=…[&cursor=…]` pages spans newest first (Phoenix
orders them by its row id, descending: the order they were stored) and names the next page in `next_cursor`. Each
page is `{"data": [OTLP span objects], "next_cursor": …}`, read by the OTLP/JSON parser like a saved page
(parsers/phoenix_rest.py: every AnyValue member spelled out with all but one null, times back to Phoenix's
microsecond, flattened JSON-string attributes folded back). Phoenix keeps no resource, so spans read from it have
no service. The project is the path (a name or an id; `default` when there is none).

`limit` counts traces: once that many are seen, the following pages add only spans of those traces, and reading
stops at the first page holding none of them (a trace's spans are stored together, so it is whole in practice).
Live polls (`tail`), after a first read as above, ask for a small page of the newest spans (`LIVE_PAGE`, 50) and
page further (1,000 at a time) only while a page holds no span of a completed poll: older spans are stored earlier,
so nothing new lies beyond one. An idle or steady project costs one small request a poll, so the default live
interval is 0.5 s (`interval=` sets another); a burst between polls is read whole, page after page. Spans are
de-duplicated by span id; a poll that failed half-way is not trusted as a boundary (the next one reads past what
it delivered, delivering only what is new). Live polls look back `lag` from the previous completed poll.

The API key (`Authorization: Bearer`) comes from `PHOENIX_API_KEY` (as Phoenix's own client reads it) or the config
file's `[remote.phoenix] api_key`. `phoenix+https://` for TLS. Common parameters: orchtui/remote/http.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, quote, urlsplit

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
LIVE_PAGE = 50  # spans in a live poll's first page (newest first): what an idle or steady project costs per poll
LIVE_INTERVAL_S = 0.5  # seconds between live polls unless the URL says `interval=` (p95 to screen < 1 s)


def open_source(url: str) -> "PhoenixSource":
    return PhoenixSource(url)


class PhoenixSource(HttpSource):
    def __init__(self, url: str) -> None:
        parsed = parse_url(url, "phoenix", DEFAULT_PORT, (), SECRETS)
        if "/" in parsed.path:
            raise RemoteError(f"a Phoenix URL names one project: phoenix://HOST:{DEFAULT_PORT}/PROJECT")
        super().__init__(parsed, parsed.label())
        self.project = parsed.path or DEFAULT_PROJECT
        if not any(name == "interval" for name, _ in parse_qsl(urlsplit(url.strip()).query, keep_blank_values=True)):
            self.interval = LIVE_INTERVAL_S  # a live poll is one small request: poll more often than the stores' 2 s
        self._caught_up = False  # a poll has completed: its spans bound what the next one must read
        self._unsettled: set[tuple[str, str]] = set()  # delivered by a poll that did not complete (no boundary)

    def headers(self) -> dict[str, str]:
        key = credential("phoenix", "api_key", KEY_ENV)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def read_once(self) -> Iterator[ParseResult]:
        try:
            yield from self._read(window_start(self.url, None, time.time()))
        finally:
            self.close()

    def poll(self) -> Iterator[ParseResult]:
        now = time.time()
        start = window_start(self.url, self._last_poll, now)
        results = self._live(start) if self._caught_up else self._read(start)
        yield from results
        # completed: what it delivered now bounds the next poll, which looks `lag` back from here
        self._last_poll, self._caught_up = now, True
        self._unsettled.clear()

    def _live(self, start: float | None) -> Iterator[ParseResult]:
        """Newest first, a small page, then full pages while no page held a span of a completed poll."""
        for result, reached in self._pages(start, LIVE_PAGE):
            yield result
            if reached:
                return

    def _read(self, start: float | None) -> Iterator[ParseResult]:
        """Up to `limit` traces, newest first: a read, or a live source's first poll."""
        chosen: set[str] = set()
        for result, _ in self._pages(start, PAGE):
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

    def _pages(self, start: float | None, first: int) -> Iterator[tuple[ParseResult, bool]]:
        """(the page's spans not delivered before, whether it held a span a completed poll delivered), page after
        page: the first asks for `first` spans, the next ones for PAGE."""
        path = f"/v1/projects/{quote(self.project, safe='')}/spans/otlpv1"
        cursor: str | None = None
        number = 1
        while True:
            params = {"limit": str(first if number == 1 else PAGE)}
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
            reached = any((span.trace_id, span.span_id) in self._seen and (span.trace_id, span.span_id) not in self._unsettled
                          for span in result.spans)
            result = self._seen.fresh(result)
            self._unsettled.update((span.trace_id, span.span_id) for span in result.spans)
            yield result, reached
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
