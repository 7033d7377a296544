"""`jaeger://HOST:16686?service=S&since=15m&limit=N`: traces from Jaeger v2's HTTP API v3 (`/api/v3/traces`).

The answer is OTLP/JSON inside the grpc-gateway's `{"result": …}` (one object, or one per line when streamed),
read by the OTLP/JSON parser like a file (sniff.is_store_response). When nothing matches, Jaeger answers 404 with
`{"error": {"httpCode": 404, "message": "No traces found"}}`: no traces, not a failure.

Query parameters are the gateway's snake_case names (`query.service_name`, `query.start_time_min`,
`query.start_time_max`, `query.num_traces`, `query.operation_name`): every Jaeger v2 release reads them (releases
from mid-2026 also read camelCase and call the count `query.search_depth`, keeping these as aliases).

URL parameters: `service` (without it every service of `/api/v3/services` is searched in turn, the limit counting
across them), `operation`, and the common `since` (default 1h), `limit` (traces, default 1000), `lag`, `timeout`,
`interval` (orchtui/remote/http.py); Jaeger needs both ends of the window, so `since=all` asks from 1970 (quick
on the memory and Badger stores, slow where the backend scans per day, as Elasticsearch does: prefer a bound).
`jaeger+https://` for TLS. A Jaeger behind an authenticating proxy: the bearer
token from `ORCHTUI_JAEGER_TOKEN` or the config file's `[remote.jaeger] token`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson

from parsers.read import parse_bytes
from parsers.result import ParseResult
from parsers.sniff import OTLP_JSON

from .base import RemoteError
from .http import HttpSource, credential, limit_traces, parse_url, rfc3339, server_text, window_start

DEFAULT_PORT = 16686
TOKEN_ENV = "ORCHTUI_JAEGER_TOKEN"
SECRETS = f"a Jaeger token goes in {TOKEN_ENV} or the config file's [remote.jaeger] token"
FIND = "/api/v3/traces"


def open_source(url: str) -> "JaegerSource":
    return JaegerSource(url)


class JaegerSource(HttpSource):
    def __init__(self, url: str) -> None:
        parsed = parse_url(url, "jaeger", DEFAULT_PORT, ("service", "operation"), SECRETS)
        super().__init__(parsed, parsed.label("service", "operation"))

    def headers(self) -> dict[str, str]:
        token = credential("jaeger", "token", TOKEN_ENV)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def read_once(self) -> Iterator[ParseResult]:
        now = time.time()
        try:
            yield from limit_traces(self._find(window_start(self.url, None, now), now), self.url.limit)
        finally:
            self.close()

    def poll(self) -> Iterator[ParseResult]:
        now = time.time()
        start = window_start(self.url, self._last_poll, now)
        self._last_poll = now
        for result in limit_traces(self._find(start, now), self.url.limit):
            yield self._seen.fresh(result)

    def _services(self) -> list[str]:
        service = self.url.params.get("service")
        if service:
            return [service]
        answer = self._http().get("/api/v3/services")
        try:
            services = orjson.loads(answer.body).get("services") or []
        except (orjson.JSONDecodeError, AttributeError):
            raise RemoteError(f"/api/v3/services is not Jaeger's answer: {server_text(answer.body)}") from None
        return [name for name in services if isinstance(name, str) and name]

    def _find(self, start: float | None, end: float) -> Iterator[ParseResult]:
        for service in self._services():
            params = {
                "query.service_name": service,
                "query.start_time_min": rfc3339(start or 0.0),
                "query.start_time_max": rfc3339(end + 1.0),  # spans that began this second
                "query.num_traces": str(self.url.limit),
            }
            if self.url.params.get("operation"):
                params["query.operation_name"] = self.url.params["operation"]
            answer = self._http().get(FIND, params, ok=(200, 404))
            if answer.status == 404:
                if b"No traces found" in answer.body[:500] or b'"httpCode":404' in answer.body[:500]:
                    yield ParseResult(format=OTLP_JSON)  # read, and empty: "no traces", not "unreadable"
                    continue
                raise RemoteError(
                    f"no {FIND} here (HTTP 404: {server_text(answer.body)}): Jaeger v2 serves API v3 "
                    f"on its query port, {DEFAULT_PORT} by default"
                )
            yield parse_bytes(answer.body, f"{self.label} service={server_text(service)}", OTLP_JSON)
