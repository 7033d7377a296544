"""An OTLP/HTTP trace endpoint: `POST /v1/traces`, protobuf or JSON, optionally gzip, answered per the spec.

Built on aiohttp (no hand-written HTTP). The server runs its own event loop on a background thread, so it works
the same under the TUI (whose loop must never block) and headless (`orchtui serve`).

Every accepted request is appended to the spool before the 200 goes out, in a form the engine reads back: JSON
requests as OTLP/JSON lines, protobuf requests as the collector's length-prefixed protobuf (the hot path never
re-encodes). A crash or quit therefore loses nothing that was acknowledged, and `orchtui open SPOOL` replays it.

Answers (OTLP spec, §OTLP/HTTP): 200 with an empty `ExportTraceServiceResponse` in the request's encoding; 400
with a `google.rpc.Status`-shaped message for undecodable bodies or unsupported encodings; 401 without the
bearer token when one is configured; 413 above the size limit, checked after decompression (gzip bombs);
415 for other content types; 503 with `Retry-After` when the consumer is saturated (back-pressure instead of an
unbounded queue).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from parsers.otlp_json import spans_from_request as spans_from_json_request
from parsers.span import Source, Span

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318
DEFAULT_MAX_BODY = 20 * 1024 * 1024  # the collector's default; the spec recommends up to 64 MiB
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
QUEUE_BATCHES = 256  # decoded requests waiting for the consumer; more gets 503 + Retry-After


@dataclass
class ReceiverStats:
    requests: int = 0
    spans: int = 0
    rejected: int = 0


class Spool:
    """Append-only files of everything accepted: `<base>.otlp.jsonl` for JSON, `<base>.otlp.pb` for protobuf."""

    def __init__(self, base: Path) -> None:
        self.base = base
        base.parent.mkdir(parents=True, exist_ok=True)
        self.json_path = base.with_name(base.name + ".otlp.jsonl")
        self.proto_path = base.with_name(base.name + ".otlp.pb")
        self._json = None
        self._proto = None
        self._lock = threading.Lock()

    def write_json(self, body: bytes) -> None:
        # JSON strings cannot hold a raw newline, so a pretty-printed body becomes one line without re-encoding.
        line = body.replace(b"\r", b" ").replace(b"\n", b" ") + b"\n"
        with self._lock:
            if self._json is None:
                self._json = open(self.json_path, "ab")  # noqa: SIM115 - kept open for the session
            self._json.write(line)
            self._json.flush()

    def write_proto(self, body: bytes) -> None:
        with self._lock:
            if self._proto is None:
                self._proto = open(self.proto_path, "ab")  # noqa: SIM115
            self._proto.write(len(body).to_bytes(4, "big") + body)
            self._proto.flush()

    def paths(self) -> list[Path]:
        return [p for p in (self.json_path, self.proto_path) if p.exists()]

    def close(self) -> None:
        with self._lock:
            for handle in (self._json, self._proto):
                if handle is not None:
                    handle.close()


def default_spool_base() -> Path:
    """`$XDG_STATE_HOME/orchtui/spool-<time>` (default `~/.local/state`)."""
    import os
    import time

    root = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "orchtui"
    return root / time.strftime("spool-%Y%m%d-%H%M%S")


class OtlpReceiver:
    """Receives OTLP/HTTP traces and hands decoded span batches to `deliver` on a consumer thread."""

    def __init__(
        self,
        deliver: Callable[[list[Span]], object],
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        token: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        spool: Spool | None = None,
    ) -> None:
        self.deliver = deliver
        self.host, self.port = host, port
        self.token = token
        self.max_body = max_body
        self.spool = spool
        self.stats = ReceiverStats()
        self._queue: queue.Queue[list[Span] | None] = queue.Queue(QUEUE_BATCHES)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._server_thread = threading.Thread(target=self._serve, name="orchtui-otlp", daemon=True)
        self._consumer = threading.Thread(target=self._consume, name="orchtui-otlp-ingest", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/v1/traces"

    def start(self) -> None:
        self._consumer.start()
        self._server_thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._server_thread.join(timeout=5)
        self._queue.put(None)
        self._consumer.join(timeout=5)
        if self.spool is not None:
            self.spool.close()

    # -- server thread -------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        from aiohttp import web

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post("/v1/traces", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        try:
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
            loop.run_until_complete(site.start())
            if self._runner.addresses:  # the port actually bound (port 0 asks the OS for a free one)
                self.port = self._runner.addresses[0][1]
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request):
        from aiohttp import web

        def reject(status: int, message: str, headers: dict | None = None):
            self.stats.rejected += 1
            body = orjson.dumps({"code": status, "message": message})
            return web.Response(status=status, body=body, content_type=JSON, headers=headers)

        if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
            return reject(401, "missing or wrong bearer token")
        content_type = request.content_type
        if content_type not in (PROTOBUF, JSON):
            return reject(415, f"415 unsupported media type, supported: [{JSON}, {PROTOBUF}]")
        encoding = request.headers.get("Content-Encoding", "identity").lower()
        try:
            raw = await request.read()  # aiohttp undoes gzip/deflate itself, counting the limit after it
        except web.HTTPRequestEntityTooLarge:
            return reject(413, f"request body over {self.max_body:,} bytes")
        except web.RequestPayloadError as exc:
            return reject(400, f"cannot read the body: {exc}")
        try:
            body = _decompress(raw, encoding, self.max_body)
        except _TooLarge:
            return reject(413, f"decompressed body over {self.max_body:,} bytes")
        except ValueError as exc:
            return reject(400, str(exc))
        source = Source(f"{request.remote or 'client'} POST /v1/traces")
        try:
            if content_type == PROTOBUF:
                from parsers.otlp_proto import decode_request, spans_from_request

                spans = spans_from_request(decode_request(body), source)
            else:
                document = orjson.loads(body) if body.strip() else {}
                if not isinstance(document, dict):
                    raise ValueError("expected an ExportTraceServiceRequest object")
                spans = spans_from_json_request(document, source)
        except Exception as exc:  # noqa: BLE001 - any decoding failure is the client's 400, never a crash
            return reject(400, f"cannot decode the {content_type} body: {type(exc).__name__}: {exc}")
        if self._queue.full():
            return reject(503, "ingest is saturated; retry later", {"Retry-After": "1"})
        if self.spool is not None:
            if content_type == PROTOBUF:
                self.spool.write_proto(body)
            else:
                self.spool.write_json(body)
        self.stats.requests += 1
        self.stats.spans += len(spans)
        if spans:
            self._queue.put(spans)
        if content_type == PROTOBUF:
            return web.Response(status=200, body=b"", content_type=PROTOBUF)  # an empty ExportTraceServiceResponse
        return web.Response(status=200, body=b"{}", content_type=JSON)

    # -- consumer thread -----------------------------------------------------------------------------------------

    def _consume(self) -> None:
        while (batch := self._queue.get()) is not None:
            self.deliver(batch)


class _TooLarge(Exception):
    pass


def _decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """The body as sent, with gzip/deflate undone in bounded steps so a bomb is refused, not inflated."""
    if encoding in ("identity", ""):
        return raw
    if encoding not in ("gzip", "deflate"):
        raise ValueError(f"unsupported Content-Encoding {encoding!r} (gzip, deflate or none)")
    if encoding == "gzip" and raw[:2] != b"\x1f\x8b":
        return raw  # already decompressed by the HTTP layer
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"body is not valid {encoding}: {exc}") from exc
    if len(body) > limit or inflater.unconsumed_tail:
        raise _TooLarge
    return body

