"""`tempo://HOST:3200?q=<TraceQL>&since=30m&limit=N`: traces from Grafana Tempo's HTTP API.

Search, then fetch: `GET /api/search?q=…&start=…&end=…&limit=…` names the traces (newest first; `q` defaults to
`{}`, every trace), then each is fetched by id as protobuf (`Accept: application/protobuf`) from
`/api/v2/traces/<id>` (a `TraceByIDResponse`: field 1 the `Trace`, 3 its partial status, 4 the message), or from
`/api/traces/<id>` (the bare `Trace`) when the v2 path is not there (Tempo before 2.5). A `Trace` is repeated
`ResourceSpans` in field 1, the layout of an OTLP `ExportTraceServiceRequest`, so the OTLP protobuf parser reads
it as it is. A JSON answer (a proxy that drops the Accept header) is read by the OTLP/JSON parser.

URL parameters: `q` (TraceQL), `tenant` (sent as `X-Scope-OrgID`, for a multi-tenant Tempo; or
`ORCHTUI_TEMPO_TENANT`), and the common `since` (default 1h), `limit` (traces, default 1000), `lag`, `timeout`,
`interval` (`since=all` sends no `start`/`end`: Tempo then searches only what its ingesters still hold).
`tempo+https://` for TLS. Credentials (Grafana Cloud and proxies): a bearer token from
`ORCHTUI_TEMPO_TOKEN`, or basic auth from `ORCHTUI_TEMPO_USER` + `ORCHTUI_TEMPO_PASSWORD`, or the config file's
`[remote.tempo] token` / `user` / `password`.

Live polls search the window since the previous poll (less `lag`) and fetch a trace again only when the search
says it changed (span count, duration), de-duplicating spans by id.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import orjson

from parsers import otlp_proto
from parsers.read import parse_bytes
from parsers.result import ParseResult
from parsers.span import Source

from .base import RemoteError
from .http import HttpSource, credential, describe_status, parse_url, server_text, window_start

DEFAULT_PORT = 3200
SECRETS = ("Tempo credentials go in ORCHTUI_TEMPO_TOKEN, or ORCHTUI_TEMPO_USER and ORCHTUI_TEMPO_PASSWORD, or the "
           "config file's [remote.tempo]")
PROTOBUF = "application/protobuf"
FETCHERS = 4  # traces fetched at once
CHANGES_CAP = 50_000  # traces whose search summary a live source remembers
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")
NOT_FOUND = "not found (the search named it; it may have been deleted, or not flushed yet)"


def open_source(url: str) -> "TempoSource":
    return TempoSource(url)


class TempoSource(HttpSource):
    def __init__(self, url: str) -> None:
        parsed = parse_url(url, "tempo", DEFAULT_PORT, ("q", "tenant"), SECRETS)
        super().__init__(parsed, parsed.label("q", "tenant"))
        self._summaries: dict[str, tuple] = {}  # trace id -> what the last search said about it
        self._v1 = False  # this Tempo has no /api/v2/traces

    def headers(self) -> dict[str, str]:
        headers = {}
        token = credential("tempo", "token", "ORCHTUI_TEMPO_TOKEN")
        user = credential("tempo", "user", "ORCHTUI_TEMPO_USER")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif user:
            secret = credential("tempo", "password", "ORCHTUI_TEMPO_PASSWORD") or ""
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
        tenant = self.url.params.get("tenant") or credential("tempo", "tenant", "ORCHTUI_TEMPO_TENANT")
        if tenant:
            headers["X-Scope-OrgID"] = tenant
        return headers

    def read_once(self) -> Iterator[ParseResult]:
        try:
            now = time.time()
            found = self._search(window_start(self.url, None, now), now)
            if not found:
                yield ParseResult(format=otlp_proto.FORMAT)  # read, and empty: "no traces", not "unreadable"
            yield from self._fetch_all([trace_id for trace_id, _ in found])
        finally:
            self.close()

    def poll(self) -> Iterator[ParseResult]:
        now = time.time()
        found = self._search(window_start(self.url, self._last_poll, now), now)
        self._last_poll = now
        changed = [trace_id for trace_id, summary in found if self._summaries.get(trace_id) != summary]
        for trace_id, summary in found:
            self._summaries.pop(trace_id, None)
            self._summaries[trace_id] = summary
        while len(self._summaries) > CHANGES_CAP:
            del self._summaries[next(iter(self._summaries))]
        for result in self._fetch_all(changed):
            yield self._seen.fresh(result)

    def _search(self, start: float | None, end: float) -> list[tuple[str, tuple]]:
        """(trace id, summary) of the traces the search finds, newest first, at most `limit`."""
        params = {"q": self.url.params.get("q") or "{}", "limit": str(self.url.limit)}
        if start is not None:
            params["start"] = str(int(start))
            params["end"] = str(int(end) + 1)
        answer = self._http().get("/api/search", params)
        try:
            traces = orjson.loads(answer.body).get("traces") or []
        except (orjson.JSONDecodeError, AttributeError):
            raise RemoteError(f"/api/search is not Tempo's answer: {server_text(answer.body)}") from None
        found = []
        for item in traces if isinstance(traces, list) else ():
            trace_id = item.get("traceID") if isinstance(item, dict) else None
            if not isinstance(trace_id, str) or not _TRACE_ID.match(trace_id):
                continue  # not an id this client will put in a path
            spans = sum(s.get("spanCount", 0) for s in (item.get("serviceStats") or {}).values() if isinstance(s, dict))
            found.append((trace_id.lower().rjust(32, "0"), (item.get("startTimeUnixNano"), item.get("durationMs"), spans)))
        found.sort(key=lambda pair: _as_int(pair[1][0]), reverse=True)
        return found[: self.url.limit]

    def _fetch_all(self, trace_ids: list[str]) -> Iterator[ParseResult]:
        """Each trace's spans in order, FETCHERS requests in flight (and as many traces in memory) at most."""
        if not trace_ids:
            return
        with ThreadPoolExecutor(FETCHERS, thread_name_prefix="orchtui-tempo") as pool:
            for at in range(0, len(trace_ids), FETCHERS):
                yield from pool.map(self._fetch, trace_ids[at : at + FETCHERS])

    def _fetch(self, trace_id: str) -> ParseResult:
        """One trace's spans; a trace Tempo cannot give (an HTTP error, none of its spans) is a read error of that
        trace alone. Only a store that cannot be reached at all raises."""
        name = f"{self.label} trace {trace_id}"
        client = self._http()
        anything = tuple(range(100, 600))
        answer = path = None
        if not self._v1:
            path = f"/api/v2/traces/{trace_id}"
            answer = client.get(path, accept=PROTOBUF, ok=anything)
            if answer.status == 404 and b"page not found" in answer.body[:200]:
                self._v1 = True  # no v2 route on this Tempo (the router's "404 page not found"), not a missing trace
                answer = None
        if answer is None:
            path = f"/api/traces/{trace_id}"
            answer = client.get(path, accept=PROTOBUF, ok=anything)
        result = ParseResult()
        if answer.status != 200:
            missing = answer.status == 404
            result.error(name, NOT_FOUND if missing else describe_status(answer, path or ""))
            return result
        if not answer.content_type.startswith(PROTOBUF):
            result = parse_bytes(answer.body, name, "otlp-json")
        else:
            result.format = otlp_proto.FORMAT
            payload = answer.body
            if path and path.startswith("/api/v2/"):
                try:
                    payload, status, message = _trace_by_id_response(answer.body)
                except ValueError as exc:
                    result.error(name, f"not a Tempo TraceByIDResponse: {exc}")
                    return result
                if status == 1:
                    result.error(name, f"Tempo returned a partial trace: {server_text(message)}; spans kept")
            otlp_proto.parse_message(payload, Source(name), "", result)
        if not result.spans and not result.errors:
            result.error(name, NOT_FOUND)  # Tempo's v2 answers a trace it does not have with an empty one
        return result


def _as_int(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def _trace_by_id_response(data: bytes) -> tuple[bytes, int, bytes]:
    """tempopb.TraceByIDResponse -> (the Trace's bytes, PartialStatus (1 = PARTIAL), message)."""
    trace, status, message = b"", 0, b""
    for number, value in _fields(data):
        if number == 1 and isinstance(value, bytes):
            trace += value  # a repeated embedded message merges: concatenation is what protobuf does
        elif number == 3 and isinstance(value, int):
            status = value
        elif number == 4 and isinstance(value, bytes):
            message = value
    return trace, status, message


def _fields(data: bytes) -> Iterator[tuple[int, bytes | int | None]]:
    """(field number, value) of a protobuf message's top level: varints as ints, length-delimited as bytes."""
    at, size = 0, len(data)
    while at < size:
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            yield number, value
        elif wire == 2:
            length, at = _varint(data, at)
            if at + length > size:
                raise ValueError(f"field {number} runs past the end ({length} bytes at {at} of {size})")
            yield number, data[at : at + length]
            at += length
        elif wire in (1, 5):
            at += 8 if wire == 1 else 4
            yield number, None
        else:
            raise ValueError(f"wire type {wire} at byte {at}")
        if at > size:
            raise ValueError("truncated")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
