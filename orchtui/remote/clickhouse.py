"""`clickhouse://USER@HOST:8123/DB?table=otel_traces&since=1h&limit=N`: the OpenTelemetry Collector ClickHouse
exporter's tables (also ClickStack / HyperDX), read over ClickHouse's plain HTTP interface.

URL: `clickhouse://` is HTTP (default port 8123), `clickhouse+https://` TLS (default port 8443). The user comes from
the URL (default `default`), the password only from `CLICKHOUSE_PASSWORD` or the config file's
`[remote.clickhouse] password = "…"`: a URL with `user:password@` is refused (argv shows in `ps` and shell
history). Query: `table` (default `otel_traces`), `since` (`90s`, `15m`, `1h` (default), `7d`, `all`), `limit`
(traces read by `open`/`check`, newest first; default 1000), `trace` (read one trace by id), `lag` (how far back
from the latest span end it saw a live poll looks again, for spans exported late; default 10m), `interval` (between
live polls, default 2s), `timeout` (per request, default 60s), `pushdown=0` (`routes` loads spans instead of asking
ClickHouse for the numbers).

The exporter's row (exporter/clickhouseexporter, `otel_traces`): Timestamp DateTime64(9) (the span's start),
TraceId, SpanId, ParentSpanId ('' for a root), SpanName, SpanKind, ServiceName, ResourceAttributes and
SpanAttributes as Map(LowCardinality(String), String) (every value a string: Go's `AsString`, so 12 is "12",
true is "true", arrays and maps JSON), ScopeName, ScopeVersion (older exporters kept the scope in
SpanAttributes['otel.scope.name'] instead), Duration in ns (UInt64; Int64 in older exporters), StatusCode
('STATUS_CODE_ERROR' from `traceutil.StatusCodeStr`, or 'Error'), StatusMessage, Events.Timestamp/Name/Attributes
(Nested) and Links.*. `DESCRIBE TABLE` runs first and the queries use only the columns that exist, so a table
without the optional columns, or with JSON-typed attributes, still reads.

Rows become spans through the same vocabulary table as every OTLP file (`parsers.conventions.apply_attributes`),
which reads numbers from strings (`to_count`, `to_float`) and JSON from strings (`parse_json_maybe`), so a trace
read from ClickHouse analyses like the same trace read from a file. A row that cannot be read costs itself only.

SQL is never built from user input: values travel as ClickHouse query parameters (`{name:Type}` in the query,
`param_name=…` in the HTTP query string), the database and table as `{db:Identifier}` / `{table:Identifier}`.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from parsers.conventions import apply_attributes
from parsers.result import ParseResult
from parsers.span import ERROR, OK, UNSET, Source, Span, SpanEvent
from parsers.values import normalize_id, text_field, time_field

from .base import RemoteError
from .http import parse_duration as parse_http_duration

FORMAT = "clickhouse"
PASSWORD_ENV = "CLICKHOUSE_PASSWORD"
DEFAULT_DATABASE = "otel"  # the exporter's default `database`
DEFAULT_TABLE = "otel_traces"
DEFAULT_SINCE_S = 3600
DEFAULT_LIMIT = 1000
DEFAULT_LAG_S = 600  # a span is exported when it ends: a poll looks this far back for late ones (10m)
DEFAULT_TIMEOUT_S = 60
DEFAULT_INTERVAL_S = 2.0
IDS_PER_QUERY = 500  # trace ids per span query (sent as one Array(String) parameter)
BATCH_SPANS = 5000  # spans per ParseResult handed to the sink
POLL_PAGE = 20_000  # spans per live poll at most; the next poll continues where it stopped
SEEN_CAP = 200_000  # span ids remembered for de-duplication at most
GRACE_S = 3600  # a trace is in the window when its first span is: spans this much before the window are looked at
MESSAGE_LIMIT = 500  # characters of a server's error message kept

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.$-]{0,200}$")
_STATUS = {"STATUS_CODE_ERROR": ERROR, "ERROR": ERROR, "2": ERROR, "STATUS_CODE_OK": OK, "OK": OK, "1": OK}
_QUERY_KEYS = {"table", "since", "limit", "trace", "lag", "pushdown", "timeout", "interval"}


# -- the URL ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClickHouseURL:
    https: bool
    host: str
    port: int
    user: str
    database: str
    table: str
    since_s: int | None  # None: all time
    limit: int
    trace: str | None
    lag_s: int
    pushdown: bool
    timeout_s: float
    interval_s: float

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.https else 'http'}://{host}:{self.port}/"

    @property
    def label(self) -> str:
        """The URL without credentials: what the UI and reports name the source by."""
        scheme = "clickhouse+https" if self.https else "clickhouse"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{self.user}@{host}:{self.port}/{self.database}?table={self.table}"


def parse_duration(text: str) -> int | None:
    """`since`: whole seconds, as the SQL takes them (`90s`, `15m`, `1h`, `7d`, `2w`, `all` or 0 for no bound)."""
    seconds = parse_http_duration(text, "since")
    return int(seconds) or None if seconds is not None else None


def parse_url(url: str) -> ClickHouseURL:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("clickhouse", "clickhouse+https", "clickhouse+http"):
        raise RemoteError(f"not a clickhouse URL: {scheme}://")
    if parts.password is not None:
        raise RemoteError(f"a password in the URL would show in argv and shell history: put it in {PASSWORD_ENV} "
                          "or the config file's [remote.clickhouse] password")
    https = scheme == "clickhouse+https"
    try:
        port = parts.port or (8443 if https else 8123)
    except ValueError as exc:
        raise RemoteError(f"bad port in {url.split('?', 1)[0]}: {exc}") from None
    host = parts.hostname
    if not host:
        raise RemoteError("a clickhouse URL needs a host: clickhouse://USER@HOST:8123/DB")
    user = unquote(parts.username) if parts.username else "default"
    database = unquote(parts.path.strip("/")) or DEFAULT_DATABASE
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in ("password", "key", "secret", "token"):
            raise RemoteError(f"{key}= in the URL would show in argv: put the password in {PASSWORD_ENV} or the config file")
        if key not in _QUERY_KEYS:
            raise RemoteError(f"unknown clickhouse URL parameter {key!r} (known: {', '.join(sorted(_QUERY_KEYS))})")
        query[key] = value
    table = query.get("table") or DEFAULT_TABLE
    for what, name in (("database", database), ("table", table)):
        if not _NAME.match(name):
            raise RemoteError(f"{what} name {name!r}: letters, digits, _ . $ - only")
    return ClickHouseURL(
        https=https,
        host=host,
        port=port,
        user=user,
        database=database,
        table=table,
        since_s=parse_duration(query["since"]) if "since" in query else DEFAULT_SINCE_S,
        limit=_positive(query.get("limit"), "limit", DEFAULT_LIMIT),
        trace=normalize_id(query["trace"]) if query.get("trace") else None,
        lag_s=int(_seconds(query.get("lag"), "lag", DEFAULT_LAG_S)),
        pushdown=query.get("pushdown", "1").strip().lower() not in ("0", "false", "no", "off"),
        timeout_s=float(_seconds(query.get("timeout"), "timeout", DEFAULT_TIMEOUT_S) or DEFAULT_TIMEOUT_S),
        interval_s=float(_seconds(query.get("interval"), "interval", DEFAULT_INTERVAL_S) or DEFAULT_INTERVAL_S),
    )


def _seconds(text: str | None, name: str, default: float) -> float:
    """A duration parameter (`lag=10m`, `timeout=90`, `interval=500ms`), as every store URL spells them; 0 is
    allowed."""
    if text is None or text == "":
        return default
    return parse_http_duration(text, name) or 0


def _positive(text: str | None, name: str, default: int, zero: bool = False) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise RemoteError(f"{name}={text!r}: a whole number") from None
    if value < (0 if zero else 1):
        raise RemoteError(f"{name}={text!r}: must be at least {0 if zero else 1}")
    return value


def password(environ: dict[str, str] | os._Environ = os.environ) -> str:
    """`CLICKHOUSE_PASSWORD`, else the config file's `[remote.clickhouse] password`, else none ('')."""
    if environ.get(PASSWORD_ENV) is not None:
        return environ[PASSWORD_ENV]
    try:
        import tomllib

        from ..config import config_path

        with config_path(environ).open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, ValueError):
        return ""
    remote = data.get("remote")
    section = remote.get("clickhouse") if isinstance(remote, dict) else None
    value = section.get("password") if isinstance(section, dict) else None
    return value if isinstance(value, str) else ""


# -- the HTTP client ----------------------------------------------------------------------------------------------


def encode_param(value: Any) -> str:
    """A query parameter's value in ClickHouse's text form (the `param_x=` of the HTTP interface): strings escaped
    (backslash sequences are read as escapes), arrays and maps as literals with quoted strings."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_literal(key)}:{_literal(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"no ClickHouse text form for {type(value).__name__}")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r").replace("\0", "\\0")


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + _escape(value).replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple)) and not isinstance(value, str):
        return "[" + ",".join(_literal(item) for item in value) + "]"
    return encode_param(value)


class ClickHouseClient:
    """Queries over the HTTP interface, answers streamed as JSONEachRow. Every failure is a RemoteError."""

    def __init__(self, url: ClickHouseURL, secret: str | None = None) -> None:
        import httpx  # imported here: every other command would pay for it at startup

        self.url = url
        headers = {"X-ClickHouse-User": url.user, "User-Agent": "orchtui"}
        secret = password() if secret is None else secret
        if secret:
            headers["X-ClickHouse-Key"] = secret
        self._httpx = httpx
        self._client = httpx.Client(base_url=url.base_url, headers=headers,
                                    timeout=httpx.Timeout(url.timeout_s, connect=10.0))

    def close(self) -> None:
        self._client.close()

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """The answer's rows; a line that is not a JSON object raises RemoteError (ClickHouse writes an exception
        into a stream it already started)."""
        query = {"database": self.url.database}
        for name, value in (params or {}).items():
            query[f"param_{name}"] = encode_param(value)
        httpx = self._httpx
        try:
            with self._client.stream("POST", "/", params=query, content=sql.encode()) as response:
                if response.status_code != 200:
                    body = response.read()[:4000].decode("utf-8", "replace")
                    raise RemoteError(f"{self.url.label}: ClickHouse answered HTTP {response.status_code}: {_message(body)}")
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    try:
                        row = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        raise RemoteError(f"{self.url.label}: the answer broke off: {_message(line)}") from None
                    if not isinstance(row, dict):
                        raise RemoteError(f"{self.url.label}: the answer is not JSONEachRow: {_message(line)}")
                    yield row
        except httpx.HTTPError as exc:
            raise RemoteError(f"{self.url.label}: {type(exc).__name__}: {_message(str(exc)) or 'no answer'}") from None


def _message(text: str) -> str:
    text = " ".join(text.split())
    return text[:MESSAGE_LIMIT] + ("…" if len(text) > MESSAGE_LIMIT else "")


# -- the table ----------------------------------------------------------------------------------------------------


REQUIRED = ("TraceId", "SpanId", "Timestamp")
TABLE = "{db:Identifier}.{table:Identifier}"


@dataclass(slots=True)
class Schema:
    """The columns the table really has (DESCRIBE TABLE), and the expressions the queries use for them."""

    columns: dict[str, str]  # name -> ClickHouse type

    def has(self, name: str) -> bool:
        return name in self.columns

    @property
    def start_ns(self) -> str:
        return "toUnixTimestamp64Nano(toDateTime64(Timestamp, 9))"

    @property
    def duration(self) -> str:
        return "toInt64(Duration)" if self.has("Duration") else "toInt64(0)"

    @property
    def end_ns(self) -> str:
        return f"({self.start_ns} + {self.duration})"

    def attributes(self, column: str) -> str:
        """An expression for an attribute column as Map(String, String), whatever its type ('' map when absent)."""
        kind = self.columns.get(column)
        if kind is None:
            return "map()"
        if kind.startswith("Map("):
            return column
        return f"CAST(JSONExtractKeysAndValues(toJSONString({column}), 'String'), 'Map(String, String)')"

    def select_list(self) -> str:
        """The span query's columns: what exists, under the exporter's names."""
        parts = ["TraceId", "SpanId", f"{self.start_ns} AS start_ns", f"{self.duration} AS duration_ns"]
        for name in ("ParentSpanId", "SpanName", "ServiceName", "ScopeName", "StatusCode", "StatusMessage"):
            if self.has(name):
                parts.append(name)
        if self.has("SpanAttributes"):
            parts.append("SpanAttributes")
        if not self.has("ServiceName") and self.columns.get("ResourceAttributes", "").startswith("Map("):
            parts.append("ResourceAttributes['service.name'] AS ServiceName")
        if self.has("Events.Timestamp"):
            parts.append("arrayMap(t -> toUnixTimestamp64Nano(toDateTime64(t, 9)), `Events.Timestamp`) AS event_ns")
            if self.has("Events.Name"):
                parts.append("`Events.Name` AS event_names")
            if self.has("Events.Attributes"):
                parts.append("`Events.Attributes` AS event_attributes")
        return ", ".join(parts)


def describe(client: ClickHouseClient) -> Schema:
    """The table's columns, or a RemoteError that says what is missing (and which tables look like traces)."""
    url = client.url
    params = {"db": url.database, "table": url.table}
    try:
        columns = {row["name"]: str(row.get("type", "")) for row in client.rows(f"DESCRIBE TABLE {TABLE} FORMAT JSONEachRow", params)
                   if isinstance(row.get("name"), str)}
    except RemoteError as exc:
        if "UNKNOWN_TABLE" not in str(exc) and "UNKNOWN_DATABASE" not in str(exc) and "doesn't exist" not in str(exc):
            raise
        raise RemoteError(f"{url.label}: no table {url.database}.{url.table}{_similar_tables(client)}") from None
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise RemoteError(f"{url.label}: {url.database}.{url.table} has no {', '.join(missing)} column: not an "
                          "OpenTelemetry exporter traces table")
    return Schema(columns)


def _similar_tables(client: ClickHouseClient) -> str:
    try:
        names = [row.get("name") for row in client.rows(
            "SELECT name FROM system.tables WHERE database = {db:String} AND name ILIKE '%trace%' ORDER BY name LIMIT 20 "
            "FORMAT JSONEachRow", {"db": client.url.database})]
    except RemoteError:
        return ""
    names = [name for name in names if isinstance(name, str) and not name.endswith(("_trace_id_ts", "_trace_id_ts_mv"))]
    return f" (tables there that look like traces: {', '.join(names)}; choose one with ?table=)" if names else ""


def window_condition(url: ClickHouseURL, params: dict[str, Any], grace: bool = False) -> str:
    """`AND …` bounding Timestamp to the URL's window on the server's clock (empty for since=all)."""
    if url.since_s is None:
        return ""
    params["since_s"] = url.since_s + (GRACE_S if grace else 0)
    return " AND Timestamp >= now64(9) - toIntervalSecond({since_s:UInt64})"


# -- rows to spans ------------------------------------------------------------------------------------------------


def _flat(value: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Map column's object as it is; a JSON-typed column's nested object flattened back to dotted keys (a String
    column holding JSON text is parsed first)."""
    out = {} if out is None else out
    if isinstance(value, str) and value.startswith("{") and not prefix:
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return out
    if isinstance(value, dict):
        for key, inner in value.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(inner, dict) and inner:
                _flat(inner, name, out)
            else:
                out[name] = inner
    return out


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdecimal():  # not isdigit: int() refuses "²"
        return int(value)
    return None


def span_from_row(row: dict[str, Any], source: Source) -> Span:
    """One exporter row -> Span, read like an OTLP span: ids and times normalized and checked, the attributes
    through the vocabulary table."""
    trace_id = normalize_id(row.get("TraceId"))
    span_id = normalize_id(row.get("SpanId"))
    if trace_id is None or span_id is None:
        raise ValueError("row without TraceId/SpanId")
    start = _int(row.get("start_ns"))
    duration = _int(row.get("duration_ns"))
    start_ns = time_field(start, "Timestamp")
    end_ns = None
    if start_ns is not None and duration is not None and 0 <= duration < (1 << 62):
        end_ns = time_field(start_ns + duration, "Duration")
    attributes = _flat(row.get("SpanAttributes"))
    scope = row.get("ScopeName") or attributes.get("otel.scope.name")
    status_text = str(row.get("StatusCode") or "").strip().upper()
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=normalize_id(row.get("ParentSpanId")),
        name=text_field(row.get("SpanName"), "SpanName") or "",
        start_ns=start_ns,
        end_ns=end_ns,
        status=_STATUS.get(status_text, UNSET),
        status_message=text_field(row.get("StatusMessage"), "StatusMessage") or None,
        service=text_field(row.get("ServiceName"), "ServiceName") or None,
        scope=scope if isinstance(scope, str) and scope else None,
        source=source,
    )
    times = row.get("event_ns")
    if isinstance(times, list) and times:
        names = row.get("event_names") if isinstance(row.get("event_names"), list) else []
        attrs = row.get("event_attributes") if isinstance(row.get("event_attributes"), list) else []
        span.events = [
            SpanEvent(
                name=text_field(names[index], "Events.Name") or "" if index < len(names) else "",
                time_ns=time_field(_int(moment), "Events.Timestamp"),
                attributes=_flat(attrs[index]) if index < len(attrs) else {},
            )
            for index, moment in enumerate(times)
        ]
    apply_attributes(span, attributes)
    return span


# -- the source ---------------------------------------------------------------------------------------------------


class ClickHouseSource:
    """A `RemoteSource` over one exporter table: `read_once` (the window's newest `limit` traces, or `trace=`) and
    `poll` (spans that ended since the last poll, de-duplicated by span id in bounded memory)."""

    def __init__(self, url: ClickHouseURL, client: ClickHouseClient | None = None) -> None:
        self.url = url
        self.label = url.label
        self.interval = url.interval_s  # seconds between live polls (orchtui/remote/poller.py reads it)
        self._client = client
        self._schema: Schema | None = None
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()  # (trace, span) -> end ns, oldest first
        self._watermark: int | None = None  # the latest span end seen by poll (ns, server data, not our clock)
        self._cursor: tuple[int, str] | None = None  # where a full poll page stopped
        self.rows_read = 0

    @property
    def client(self) -> ClickHouseClient:
        if self._client is None:
            self._client = ClickHouseClient(self.url)
        return self._client

    def schema(self) -> Schema:
        if self._schema is None:
            self._schema = describe(self.client)
        return self._schema

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # read once --------------------------------------------------------------------------------------------------

    def trace_ids(self) -> list[str]:
        """The window's newest `limit` trace ids (a trace is in the window when its first span is)."""
        if self.url.trace:
            return [self.url.trace]
        params: dict[str, Any] = {"db": self.url.database, "table": self.url.table, "limit": self.url.limit}
        having = ""
        where = window_condition(self.url, params, grace=True)
        if where:
            params["cutoff_s"] = self.url.since_s
            having = " HAVING first >= now64(9) - toIntervalSecond({cutoff_s:UInt64})"
        sql = (f"SELECT TraceId, min(Timestamp) AS first FROM {TABLE} WHERE TraceId != ''{where} GROUP BY TraceId{having} "
               "ORDER BY first DESC, TraceId LIMIT {limit:UInt64} FORMAT JSONEachRow")
        return [str(row["TraceId"]) for row in self.client.rows(sql, params) if row.get("TraceId")]

    def read_once(self) -> Iterator[ParseResult]:
        schema = self.schema()
        ids = self.trace_ids()
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start : start + IDS_PER_QUERY]
            params = {"db": self.url.database, "table": self.url.table, "ids": chunk}
            sql = (f"SELECT {schema.select_list()} FROM {TABLE} WHERE TraceId IN {{ids:Array(String)}} "
                   "ORDER BY TraceId, Timestamp FORMAT JSONEachRow")
            yield from self._batches(self.client.rows(sql, params))

    def _batches(self, rows: Iterator[dict[str, Any]], seen: bool = False) -> Iterator[ParseResult]:
        result = ParseResult(format=FORMAT)
        for row in rows:
            self.rows_read += 1
            if seen and not self._first_time(row):
                continue
            source = Source(self.label, index=self.rows_read)
            result.read_record(f"{self.label} row {self.rows_read}", lambda: [span_from_row(row, source)])
            if len(result.spans) + len(result.errors) >= BATCH_SPANS:
                yield result
                result = ParseResult(format=FORMAT)
        if result.spans or result.errors or result.skipped:
            yield result

    # poll -------------------------------------------------------------------------------------------------------

    def poll(self) -> Iterator[ParseResult]:
        """Spans that ended since the previous poll (the first poll: the window), each span once. A poll looks
        `lag` seconds back from the latest end it saw, for spans the collector inserted late; what it already gave
        is skipped by span id. A full page ends the poll; the next one continues after it."""
        schema = self.schema()
        params: dict[str, Any] = {"db": self.url.database, "table": self.url.table, "page": POLL_PAGE}
        where = window_condition(self.url, params)
        if self._cursor is not None:
            params["cursor_end"], params["cursor_span"] = self._cursor
            where += f" AND ({schema.end_ns}, SpanId) > ({{cursor_end:Int64}}, {{cursor_span:String}})"
        elif self._watermark is not None:
            params["after"] = self._watermark - self.url.lag_s * 1_000_000_000
            where += f" AND {schema.end_ns} >= {{after:Int64}}"
        sql = (f"SELECT {schema.select_list()}, {schema.end_ns} AS end_ns FROM {TABLE} WHERE TraceId != ''{where} "
               "ORDER BY end_ns, SpanId LIMIT {page:UInt64} FORMAT JSONEachRow")
        count = 0
        last: tuple[int, str] | None = None

        def rows() -> Iterator[dict[str, Any]]:
            nonlocal count, last
            for row in self.client.rows(sql, params):
                count += 1
                end = _int(row.get("end_ns"))
                if end is not None:
                    last = (end, str(row.get("SpanId", "")))
                    self._watermark = end if self._watermark is None else max(self._watermark, end)
                yield row

        yield from self._batches(rows(), seen=True)
        self._cursor = last if count >= POLL_PAGE and last is not None else None
        self._forget()

    def _first_time(self, row: dict[str, Any]) -> bool:
        key = (str(row.get("TraceId", "")), str(row.get("SpanId", "")))
        if key in self._seen:
            return False
        self._seen[key] = _int(row.get("end_ns")) or 0
        return True

    def _forget(self) -> None:
        """Drop ids no poll can return again (ended before the look-back), and the oldest beyond SEEN_CAP."""
        seen = self._seen
        if self._watermark is not None:
            horizon = self._watermark - self.url.lag_s * 1_000_000_000
            while seen:
                key, end = next(iter(seen.items()))
                if end >= horizon:
                    break
                seen.popitem(last=False)
        while len(seen) > SEEN_CAP:
            seen.popitem(last=False)


def open_source(url: str) -> ClickHouseSource:
    return ClickHouseSource(parse_url(url))

