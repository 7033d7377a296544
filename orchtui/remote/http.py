"""What the HTTP trace stores share (`jaeger://`, `tempo://`, `phoenix://`): their URLs, credentials, one HTTP
client with bounded answers, and the de-duplication of live polls.

URLs: `STORE://HOST[:PORT][/PATH]?since=…&limit=…` is plain HTTP, `STORE+https://` the same over TLS (certificates
checked against certifi's bundle, or the one `SSL_CERT_FILE` / `SSL_CERT_DIR` names: httpx's rules). `since`: `90s`, `15m`, `1h`, `7d`, `2w`, seconds, or `all`.
`limit`: traces at most (newest first). `lag`: how far before the previous poll a live poll looks again (spans are
exported when they end, so a long span arrives with an old start time). `timeout`: seconds per request.

Credentials come from the environment or the config file's `[remote.<store>]` table, never from the URL: a URL
with `user:password@` or a `token=`-like parameter is refused (argv shows in `ps` and shell history, and URLs get
logged). Labels are built from the parsed URL, so no secret can reach one.

Everything a server says (error bodies, values) is data: error messages are cut to a line of at most 300 visible
characters and escaped by `orchtui.textsafe.printable` before they are raised.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from parsers.result import ParseResult

from ..textsafe import printable
from .base import RemoteError

MAX_BODY = 256 << 20  # bytes of one answer at most (after decompression): a store cannot exhaust memory
MESSAGE_LIMIT = 300  # characters of a server's error message kept
SEEN_CAP = 200_000  # span ids a live source remembers (the oldest are forgotten first)
DEFAULT_SINCE_S = 3600
DEFAULT_LIMIT = 1000
DEFAULT_LAG_S = 600
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_INTERVAL_S = 2.0  # seconds between live polls (the caller sleeps; `interval=` in the URL)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SECRET_PARAMS = re.compile(r"(pass|secret|token|key|auth|bearer|credential)", re.IGNORECASE)
COMMON_PARAMS = frozenset(("since", "limit", "lag", "timeout", "interval"))


@dataclass(frozen=True, slots=True)
class StoreURL:
    """A parsed store URL. `params` holds the store's own parameters (validated against its list)."""

    store: str  # jaeger, tempo, phoenix
    https: bool
    host: str
    port: int
    path: str  # without leading or trailing slashes ('' when none)
    since_s: float | None  # None: no lower bound
    limit: int
    lag_s: float
    timeout_s: float
    interval_s: float
    params: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.https else 'http'}://{host}:{self.port}"

    def label(self, *shown: str) -> str:
        """The URL as the UI and reports name it: scheme, host, path, and the listed parameters. Never a secret:
        the URL cannot hold one (parse_url refuses them) and the label is rebuilt from parsed parts."""
        scheme = f"{self.store}+https" if self.https else self.store
        host = f"[{self.host}]" if ":" in self.host else self.host
        path = f"/{quote(self.path, safe='/')}" if self.path else ""
        query = "&".join(f"{name}={quote(self.params[name], safe=':{}=!~<>. ')}" for name in shown if self.params.get(name))
        return f"{scheme}://{host}:{self.port}{path}" + (f"?{query}" if query else "")


def parse_duration(text: str, name: str) -> float | None:
    """`90s`, `15m`, `1h`, `7d`, `2w`, a bare number of seconds; `all`/`0` for no bound (None)."""
    if text.strip().lower() in ("all", "0", "none", ""):
        return None
    match = _DURATION.match(text)
    if not match:
        raise RemoteError(f"{name}={text!r}: use a duration such as 90s, 15m, 1h, 7d, or all")
    return float(match.group(1)) * _UNITS[(match.group(2) or "").lower()] or None


def _count(text: str | None, name: str, default: int) -> int:
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise RemoteError(f"{name}={text!r}: a whole number") from None
    if value < 1:
        raise RemoteError(f"{name}={text!r}: must be at least 1")
    return value


def parse_url(url: str, store: str, default_port: int, params: Iterable[str], secrets: str) -> StoreURL:
    """`url` checked and split. `params`: the store's own query parameters; `secrets`: where its credentials go
    (said when a URL tries to carry one)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in (store, f"{store}+http", f"{store}+https"):
        raise RemoteError(f"not a {store} URL: {printable(scheme, True)}://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise RemoteError(f"credentials in a URL would show in argv, shell history and logs: {secrets}")
    https = scheme == f"{store}+https"
    try:
        port = parts.port or default_port
    except ValueError:
        raise RemoteError(f"bad port in {printable(url.split('?', 1)[0], True)}") from None
    if not parts.hostname:
        raise RemoteError(f"a {store} URL needs a host: {store}://HOST:{default_port}")
    known = COMMON_PARAMS | set(params)
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in known and _SECRET_PARAMS.search(key):
            raise RemoteError(f"{printable(key, True)}= in a URL would show in argv, shell history and logs: {secrets}")
        if key not in known:
            raise RemoteError(f"unknown {store} URL parameter {printable(key, True)!r} (known: {', '.join(sorted(known))})")
        query[key] = value
    since = parse_duration(query["since"], "since") if "since" in query else DEFAULT_SINCE_S
    lag = parse_duration(query["lag"], "lag") if "lag" in query else DEFAULT_LAG_S
    timeout = parse_duration(query["timeout"], "timeout") if "timeout" in query else DEFAULT_TIMEOUT_S
    interval = parse_duration(query["interval"], "interval") if "interval" in query else DEFAULT_INTERVAL_S
    own = {key: value for key, value in query.items() if key not in COMMON_PARAMS}
    return StoreURL(
        store=store,
        https=https,
        host=parts.hostname,
        port=port,
        path=unquote(parts.path.strip("/")),
        since_s=since,
        limit=_count(query.get("limit"), "limit", DEFAULT_LIMIT),
        lag_s=lag or 0.0,
        timeout_s=timeout or DEFAULT_TIMEOUT_S,
        interval_s=interval or DEFAULT_INTERVAL_S,
        params=own,
    )


def credential(store: str, key: str, env: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """A secret from `env`, else from the config file's `[remote.<store>] <key> = "…"`, else None."""
    if environ.get(env):
        return environ[env]
    try:
        import tomllib

        from ..config import config_path

        with config_path(environ).open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, ValueError):
        return None
    remote = data.get("remote")
    section = remote.get(store) if isinstance(remote, dict) else None
    value = section.get(key) if isinstance(section, dict) else None
    return value if isinstance(value, str) and value else None


def server_text(text: str | bytes) -> str:
    """A server's words for a message: one line, at most MESSAGE_LIMIT characters, every acting character escaped."""
    if isinstance(text, bytes):
        text = text[: MESSAGE_LIMIT * 4].decode("utf-8", "replace")
    return printable(" ".join(text.split()), single_line=True, limit=MESSAGE_LIMIT)


@dataclass(slots=True)
class Answer:
    status: int
    content_type: str
    body: bytes


class Client:
    """GET requests to one store. Answers are read up to MAX_BODY; every transport failure, a redirect, and (unless
    the caller accepts it) any status but 200 are RemoteErrors that name the source by its label."""

    def __init__(self, url: StoreURL, label: str, headers: dict[str, str]) -> None:
        import httpx  # here, not at module level: every other command would pay for it at startup

        self._httpx = httpx
        self.label = label
        self._client = httpx.Client(
            base_url=url.base_url,
            headers={"User-Agent": "orchtui", **headers},
            timeout=httpx.Timeout(url.timeout_s, connect=min(10.0, url.timeout_s)),
            follow_redirects=False,  # an Authorization header must not follow a redirect anywhere
        )

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, params: Any = None, accept: str = "application/json", ok: tuple[int, ...] = (200,)) -> Answer:
        httpx = self._httpx
        try:
            with self._client.stream("GET", path, params=params, headers={"Accept": accept}) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise RemoteError(f"an answer larger than {MAX_BODY >> 20} MiB: narrow it with since= or limit=")
                answer = Answer(response.status_code, response.headers.get("content-type", ""), bytes(body))
        except httpx.HTTPError as exc:
            raise RemoteError(f"{_transport_problem(exc)}") from None
        if answer.status in ok:
            return answer
        raise RemoteError(f"{describe_status(answer, path)}")


class HttpSource:
    """What every HTTP store source shares: its URL and label, a client opened on first use with the store's own
    auth headers (`headers()`, from the environment or the config file, never the URL), the span ids already
    delivered to live polls, and when it last polled."""

    def __init__(self, url: StoreURL, label: str) -> None:
        self.url, self.label = url, label
        self.interval = url.interval_s
        self._client: Client | None = None
        self._seen = SeenSpans()
        self._last_poll: float | None = None

    def headers(self) -> dict[str, str]:
        return {}

    def _http(self) -> Client:
        if self._client is None:
            self._client = Client(self.url, self.label, self.headers())
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _transport_problem(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "ConnectError":
        return f"cannot connect ({server_text(str(exc)) or 'refused'}): is the store running at this address?"
    if "Timeout" in name:
        return f"no answer in time ({name}): raise timeout= or narrow since="
    return f"{name}: {server_text(str(exc)) or 'no answer'}"


def describe_status(answer: Answer, path: str) -> str:
    text = server_text(answer.body)
    where = server_text(path)
    if answer.status in (401, 403):
        return f"HTTP {answer.status} on {where} (not authorized: see the credentials this store reads): {text}"
    if 300 <= answer.status < 400:
        return f"HTTP {answer.status} on {where}: the store redirects; use the address it redirects to"
    return f"HTTP {answer.status} on {where}: {text or 'no message'}"


class SeenSpans:
    """Span ids already delivered, for live polls: the newest SEEN_CAP kept, the oldest forgotten first (a poll
    only looks `lag` back, so ids that old do not come again)."""

    def __init__(self, cap: int = SEEN_CAP) -> None:
        self.cap = cap
        self._ids: dict[tuple[str, str], None] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._ids

    def fresh(self, result: ParseResult) -> ParseResult:
        """`result` with only spans not delivered before (which are now remembered)."""
        kept = []
        for span in result.spans:
            key = (span.trace_id, span.span_id)
            if key in self._ids:
                continue
            self._ids[key] = None
            kept.append(span)
        while len(self._ids) > self.cap:
            del self._ids[next(iter(self._ids))]
        result.spans = kept
        return result


def window_start(url: StoreURL, last_poll: float | None, now: float) -> float | None:
    """Where a read's time window begins (Unix seconds): `since` before now, and for a live poll after the first,
    `lag` before the previous poll (never earlier than `since`). None: no lower bound."""
    start = None if url.since_s is None else now - url.since_s
    if last_poll is not None:
        again = last_poll - url.lag_s
        start = again if start is None else max(start, again)
    return start


def rfc3339(seconds: float) -> str:
    """Unix seconds -> `2026-08-21T10:00:00.123456Z` (Go's time.RFC3339Nano reads it; so does Python)."""
    whole = int(seconds)
    micros = int(round((seconds - whole) * 1_000_000))
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"


def limit_traces(results: Iterable[ParseResult], limit: int) -> Iterator[ParseResult]:
    """Results keeping only the spans of the first `limit` traces they name (the store's newest first): a server
    that answers with more than was asked cannot grow memory past the limit."""
    chosen: set[str] = set()
    for result in results:
        kept = []
        for span in result.spans:
            if span.trace_id not in chosen:
                if len(chosen) >= limit:
                    continue
                chosen.add(span.trace_id)
            kept.append(span)
        result.spans = kept
        yield result
