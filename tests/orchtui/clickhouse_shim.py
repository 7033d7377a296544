"""A real ClickHouse engine (chDB, in-process) behind a loopback server speaking the subset of ClickHouse's HTTP
interface that `clickhouse://` uses, and the exporter's rows made from OTLP/JSON files.

The server: `POST /` with the query as the body (or `?query=`), `database=`, `param_<name>=` values in ClickHouse's
text form, credentials as `X-ClickHouse-User` / `X-ClickHouse-Key`, HTTP basic auth or `user=` / `password=`;
answers 200 with the format the query names, or ClickHouse's error text with 401 (authentication), 404 (unknown
table or database), 400 (syntax, bad parameters) or 500. Every query is logged (`queries`), so tests can check what
was sent.

The rows: what the OTel Collector ClickHouse exporter inserts for each span of an OTLP request (exporter_traces.go
in opentelemetry-collector-contrib): ids as lower hex ('' for no parent), attribute values through pdata's
`Value.AsString` (ints in decimal, doubles as ES6 numbers, booleans `true`/`false`, arrays and maps as Go's
`json.Marshal`: compact, keys sorted, `<>&` escaped), `SpanKindStr` / `StatusCodeStr` names, Duration = end -
start in ns, ServiceName from the resource's `service.name`.

Shared by tests/orchtui/test_remote_clickhouse*.py and bench/remote.py.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from parsers.otlp_json import decode_value
from parsers.values import normalize_id

DATA = Path(__file__).resolve().parents[1] / "data" / "remote"
DDL = DATA / "clickhouse-otel_traces.sql"
LEGACY_DDL = DATA / "clickhouse-otel_traces-legacy.sql"

SPAN_KINDS = {0: "SPAN_KIND_UNSPECIFIED", 1: "SPAN_KIND_INTERNAL", 2: "SPAN_KIND_SERVER", 3: "SPAN_KIND_CLIENT",
              4: "SPAN_KIND_PRODUCER", 5: "SPAN_KIND_CONSUMER"}
STATUS_CODES = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}
_ENUM_NAMES = {"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3,
               "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5, "STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1,
               "STATUS_CODE_ERROR": 2}


# -- pdata's AsString -----------------------------------------------------------------------------------------------


def go_float(value: float) -> str:
    """pdata's float64AsString: ES6 number formatting (fixed notation between 1e-6 and 1e21)."""
    if value != value or value in (float("inf"), float("-inf")):
        return "json: unsupported value: " + ("NaN" if value != value else ("+Inf" if value > 0 else "-Inf"))
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = repr(value).partition("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{int(exponent.lstrip('+-'))}"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def go_marshal(value: Any) -> str:
    """encoding/json.Marshal of a pdata AsRaw() value: compact, map keys sorted, HTML characters escaped (a float
    inside keeps Python's exponent form, 1e-07 where Go writes 1e-7: both read back as the same number)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def as_string(value: Any) -> str:
    """pcommon.Value.AsString of a decoded OTLP attribute value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, (list, dict)):
        return go_marshal(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def attributes_map(key_values: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for kv in key_values or ():
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[kv["key"]] = as_string(decode_value(kv.get("value")))
    return out


# -- OTLP/JSON -> exporter rows -------------------------------------------------------------------------------------


def _iso(ns: int) -> str:
    seconds, fraction = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S") + f".{fraction:09d}"


def _hex(value: Any) -> str:
    return normalize_id(value) or ""


def _enum(value: Any, names: dict[int, str]) -> str:
    if isinstance(value, str):
        value = _ENUM_NAMES.get(value, int(value) if value.isdigit() else 0)
    return names.get(value or 0, "")


def rows_from_request(request: dict[str, Any], legacy: bool = False) -> Iterator[dict[str, Any]]:
    """The exporter's rows for one ExportTraceServiceRequest (OTLP/JSON). `legacy`: the older exporter's shape
    (no ScopeName / ScopeVersion columns: the scope in SpanAttributes)."""
    for resource_spans in request.get("resourceSpans") or ():
        resource = attributes_map((resource_spans.get("resource") or {}).get("attributes"))
        service = ""
        for kv in (resource_spans.get("resource") or {}).get("attributes") or ():
            if kv.get("key") == "service.name" and isinstance(decode_value(kv.get("value")), str):
                service = decode_value(kv.get("value"))
        for scope_spans in resource_spans.get("scopeSpans") or ():
            scope = scope_spans.get("scope") or {}
            for span in scope_spans.get("spans") or ():
                start = int(span.get("startTimeUnixNano") or 0)
                end = int(span.get("endTimeUnixNano") or 0)
                attributes = attributes_map(span.get("attributes"))
                status = span.get("status") or {}
                events = span.get("events") or []
                links = span.get("links") or []
                row = {
                    "Timestamp": _iso(start),
                    "TraceId": _hex(span.get("traceId")),
                    "SpanId": _hex(span.get("spanId")),
                    "ParentSpanId": _hex(span.get("parentSpanId")),
                    "TraceState": span.get("traceState") or "",
                    "SpanName": span.get("name") or "",
                    "SpanKind": _enum(span.get("kind"), SPAN_KINDS),
                    "ServiceName": service,
                    "ResourceAttributes": resource,
                    "Duration": end - start,
                    "StatusCode": _enum(status.get("code"), STATUS_CODES),
                    "StatusMessage": status.get("message") or "",
                    "Events.Timestamp": [_iso(int(e.get("timeUnixNano") or 0)) for e in events],
                    "Events.Name": [e.get("name") or "" for e in events],
                    "Events.Attributes": [attributes_map(e.get("attributes")) for e in events],
                    "Links.TraceId": [_hex(link.get("traceId")) for link in links],
                    "Links.SpanId": [_hex(link.get("spanId")) for link in links],
                    "Links.TraceState": [link.get("traceState") or "" for link in links],
                    "Links.Attributes": [attributes_map(link.get("attributes")) for link in links],
                }
                if legacy:
                    if scope.get("name"):
                        attributes["otel.scope.name"] = scope["name"]
                    if scope.get("version"):
                        attributes["otel.scope.version"] = scope["version"]
                else:
                    row["ScopeName"] = scope.get("name") or ""
                    row["ScopeVersion"] = scope.get("version") or ""
                row["SpanAttributes"] = attributes
                yield row


def rows_from_file(path: Path, legacy: bool = False) -> list[dict[str, Any]]:
    """Rows for every request line of an OTLP/JSON Lines file (the collector file exporter's shape)."""
    rows: list[dict[str, Any]] = []
    for line in Path(path).read_bytes().splitlines():
        if line.strip():
            rows.extend(rows_from_request(orjson.loads(line), legacy))
    return rows


# -- the engine -----------------------------------------------------------------------------------------------------


class Engine:
    """One chDB session (a process has one), serialized by a lock; queries run in UTC."""

    def __init__(self, path: Path) -> None:
        from chdb import session

        self.session = session.Session(str(path))
        self.lock = threading.Lock()
        self.query("SET session_timezone = 'UTC'")

    def query(self, sql: str, params: dict[str, str] | None = None, database: str | None = None) -> bytes:
        with self.lock:
            if database:
                self.session.query(f"USE `{database}`")
            result = self.session.query(sql, "JSONEachRow", params=params or {})
        data = result.bytes() if hasattr(result, "bytes") else bytes(result)
        return data

    def close(self) -> None:
        """Close the session: chDB crashes at interpreter exit when a session is still open."""
        with self.lock:
            self.session.close()

    def run_script(self, path: Path, replace: dict[str, str] | None = None) -> None:
        text = path.read_text()
        for old, new in (replace or {}).items():
            text = text.replace(old, new)
        for statement in _statements(text):
            self.query(statement)

    def insert(self, table: str, rows: Iterable[dict[str, Any]], chunk: int = 20_000) -> int:
        count = 0
        batch: list[bytes] = []
        for row in rows:
            batch.append(orjson.dumps(row))
            if len(batch) >= chunk:
                count += self._insert(table, batch)
                batch = []
        if batch:
            count += self._insert(table, batch)
        return count

    def _insert(self, table: str, lines: list[bytes]) -> int:
        data = b"\n".join(lines).decode()
        # The rows' times are UTC wall-clock text (the session's time zone is UTC).
        self.query(f"INSERT INTO {table} FORMAT JSONEachRow\n{data}")
        return len(lines)


def _statements(text: str) -> list[str]:
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in body.split(";") if part.strip()]


# -- the HTTP interface -------------------------------------------------------------------------------------------


_CODE = re.compile(r"Code: (\d+)")
_NOT_FOUND = {"60", "81", "390"}  # UNKNOWN_TABLE, UNKNOWN_DATABASE, CANNOT_GET_CREATE_TABLE_QUERY
_BAD_REQUEST = {"62", "456", "457", "36", "27", "26", "6", "47", "53", "43", "70", "72", "386", "117"}


class Server:
    """The loopback HTTP interface in front of an Engine. `with Server(engine, password="pw") as server:`"""

    def __init__(self, engine: Engine, user: str = "default", password: str = "") -> None:
        self.engine = engine
        self.user = user
        self.password = password
        self.queries: list[tuple[str, dict[str, str]]] = []
        self.fail_next: tuple[int, str] | None = None  # (status, body) for the next request: a misbehaving server
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, database: str = "otel", user: str | None = None, **query: Any) -> str:
        text = "&".join(f"{key}={value}" for key, value in query.items())
        return f"clickhouse://{user or self.user}@127.0.0.1:{self.port}/{database}" + (f"?{text}" if text else "")

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    server_state: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._answer(b"")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self._answer(self.rfile.read(length) if length else b"")

    def _answer(self, body: bytes) -> None:
        state = self.server_state
        query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        if state.fail_next is not None:
            status, text = state.fail_next
            state.fail_next = None
            return self._send(status, text.encode())
        user, key = self._credentials(query)
        if user != state.user or key != state.password:
            return self._send(401, f"Code: 516. DB::Exception: {user}: Authentication failed: password is incorrect, "
                                   "or there is no user with such name. (AUTHENTICATION_FAILED)".encode())
        sql = (query.get("query", "") + ("\n" if query.get("query") and body else "") + body.decode("utf-8", "replace")).strip()
        params = {name[len("param_"):]: value for name, value in query.items() if name.startswith("param_")}
        state.queries.append((sql, params))
        try:
            data = state.engine.query(sql, params, query.get("database"))
        except Exception as exc:  # noqa: BLE001 - every engine error becomes ClickHouse's error answer
            message = str(exc)
            code = _CODE.search(message)
            number = code.group(1) if code else ""
            status = 404 if number in _NOT_FOUND else 400 if number in _BAD_REQUEST else 500
            return self._send(status, message.encode())
        self._send(200, data)

    def _credentials(self, query: dict[str, str]) -> tuple[str, str]:
        header = self.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, key = base64.b64decode(header[6:]).decode().partition(":")
                return user, key
            except ValueError:
                return "", ""
        if self.headers.get("X-ClickHouse-User") is not None:
            return self.headers["X-ClickHouse-User"], self.headers.get("X-ClickHouse-Key", "")
        return query.get("user", "default"), query.get("password", "")

    def _send(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8" if status != 200 else "application/x-ndjson")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-ClickHouse-Format", "JSONEachRow")
        self.end_headers()
        self.wfile.write(data)
