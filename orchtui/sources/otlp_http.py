"""An OTLP/HTTP trace endpoint: `POST …/v1/traces`, protobuf or JSON, optionally gzip/deflate, answered per spec.

Built on aiohttp (no hand-written HTTP). The server runs its own event loop on a background thread, so it works
the same under the TUI (whose loop must never block) and headless (`orchtui serve`). The loop only reads bodies
and writes answers: decompressing, decoding and spooling run on worker threads in two lanes (`otlp_ingest`, shared
with the gRPC endpoint), so one huge or hostile request never stalls the other clients and small requests never
queue behind it.

Every accepted request is appended to the spool before the 200 goes out, in a form the engine reads back (see
`spool`). A crash or quit therefore loses nothing that was acknowledged, and `orchtui open SPOOL` replays it.

Answers (OTLP spec, §OTLP/HTTP): 200 with an `ExportTraceServiceResponse` in the request's encoding, carrying
`partial_success` (rejected spans and why) when some spans could not be read; 400 with a `google.rpc.Status`-shaped
message for bodies that cannot be read at all or unsupported encodings; 401 without the bearer token when one is
configured; 408 when a body does not arrive within `body_timeout`; 413 above the size limit (checked again after
decompression: gzip bombs) or the span/message caps; 415 for other content types; 503 with `Retry-After` when the
workers or the consumer are saturated or the spool cannot be written (disk full): the client retries, and nothing
of a request answered 503 is kept.

Connections: an idle connection, or one that has not finished sending its request headers, is closed after
`idle_timeout`; at most `max_connections` are open at once: a new connection above the cap replaces the longest
idle one (so a flood of half-open sockets cannot lock out real clients, nor exhaust file descriptors).
"""

from __future__ import annotations

import asyncio
import threading

import orjson

from .defaults import DEFAULT_HOST, DEFAULT_MAX_BODY, DEFAULT_PORT
from .otlp_decode import JSON_TYPE, PROTOBUF_TYPES
from .otlp_ingest import (
    ACCEPTED,
    BUSY,
    QUEUE_BATCHES,
    TOO_LARGE,
    Endpoint,
    ReceiverLimits,
    bearer_matches,
    export_response,
    retry_after,
)
from .spool import Spool, default_spool_base

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY",
    "DEFAULT_PORT",
    "QUEUE_BATCHES",
    "OtlpReceiver",
    "ReceiverLimits",
    "Spool",
    "default_spool_base",
]

PROTOBUF = PROTOBUF_TYPES[0]
JSON = JSON_TYPE
TRACES_PATH = "/v1/traces"


class _Answer:
    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.content_type, self.headers = status, body, content_type, headers


class OtlpReceiver(Endpoint):
    """Receives OTLP/HTTP traces and hands decoded span batches to `deliver` on a consumer thread.

    `report` (the follower's signature) receives the problems of each request (unreadable spans, a `deliver`
    that raised) labelled with the request; without it they are kept in `recent_errors`. With `ingest`, the
    receiver shares another endpoint's decoding, spool and counts (see `otlp_ingest.Endpoint`).
    """

    default_port = DEFAULT_PORT

    def _setup(self) -> None:
        self._busy: set = set()  # aiohttp protocol objects handling a request now (loop thread only)
        self._fresh: list = []  # protocols created for accepted connections not yet listed by aiohttp
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner = None
        self._listener: asyncio.AbstractServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._server_thread = threading.Thread(target=self._serve, name="orchtui-otlp", daemon=True)

    @property
    def _lanes(self):
        return self.ingest.lanes

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}{TRACES_PATH}"

    def start(self) -> None:
        self.ingest.start()
        self._server_thread.start()
        self._ready.wait(10)
        if self._error is not None:
            self._stop_ingest(close_spool=False)
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._server_thread.join(timeout=5)
        self._stop_ingest()

    def _count(self, **amounts: int) -> None:
        self.ingest.count(**amounts)

    # -- server thread -------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        from aiohttp import web

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=self.max_body)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            auto_decompress=False,  # decompressed on a worker, in bounded steps
            keepalive_timeout=self.limits.idle_timeout,  # also closes a connection that never completes its headers
        )
        try:
            loop.run_until_complete(self._runner.setup())
            self._listener = loop.run_until_complete(
                loop.create_server(self._admit, self.host, self.port, reuse_address=True)
            )
            self.port = self._listener.sockets[0].getsockname()[1]  # port 0 asks the OS for a free one
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    def _admit(self) -> asyncio.BaseProtocol:
        """A protocol for a new connection; at the cap the longest idle connection makes room, or, when every
        connection is busy with a request, the new one is refused."""
        server = self._runner.server
        # aiohttp lists a connection once its `connection_made` ran (a loop turn after this call, so a burst of
        # accepts is not listed yet: `_fresh` counts those), and until its close is processed (`transport` is
        # None from the moment it is closed).
        listed = server.connections
        known = set(listed)
        self._fresh = [handler for handler in self._fresh if handler not in known]
        connections = [handler for handler in listed if handler.transport is not None]
        if len(connections) + len(self._fresh) >= self.limits.max_connections:
            idle = next((handler for handler in connections if handler not in self._busy), None)
            if idle is None:
                self._count(refused=1)
                return _Refused()
            idle.force_close()
            self._count(evicted=1)
        handler = server()
        self._fresh.append(handler)
        return handler

    async def _shutdown(self) -> None:
        if self._listener is not None:
            self._listener.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request):
        from aiohttp import web

        if not request.path.endswith(TRACES_PATH):
            return self._reply(_error(404, f"no such endpoint; traces go to POST …{TRACES_PATH}"))
        if request.method != "POST":
            return self._reply(_error(405, "traces are sent with POST"), {"Allow": "POST"})
        if self.token is not None and not bearer_matches(request.headers.get("Authorization"), self.token):
            return self._reply(_error(401, "missing or wrong bearer token"))
        content_type = request.content_type
        if content_type not in PROTOBUF_TYPES and content_type != JSON:
            return self._reply(_error(415, f"415 unsupported media type, supported: [{JSON}, {', '.join(PROTOBUF_TYPES)}]"))
        announced = self.ingest.lane(request.content_length or 0)
        if not announced.claim():
            return self._reply(_busy("the decoders are saturated; retry later"))
        self._busy.add(request.protocol)
        try:
            try:
                raw = await asyncio.wait_for(request.read(), self.limits.body_timeout)
            except web.HTTPRequestEntityTooLarge:
                return self._reply(_error(413, f"request body over {self.max_body:,} bytes"))
            except web.RequestPayloadError as exc:
                return self._reply(_error(400, f"cannot read the body: {exc}"))
            except TimeoutError:
                return self._reply(_error(408, f"the body did not arrive within {self.limits.body_timeout:g} s"))
            finally:
                announced.release()
            lane = self.ingest.lane(len(raw))  # a chunked body announced no length
            if not lane.claim():
                return self._reply(_busy("the decoders are saturated; retry later"))
            label = f"{request.remote or 'client'} POST {request.path} #{self.ingest.next_request()}"
            encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
            try:
                answer = await asyncio.get_running_loop().run_in_executor(
                    lane.executor, self._process, raw, encoding, content_type, label
                )
            finally:
                lane.release()
            return self._reply(answer)
        finally:
            self._busy.discard(request.protocol)

    def _reply(self, answer: _Answer, headers: dict[str, str] | None = None):
        from aiohttp import web

        if answer.status != 200:
            self._count(rejected=1)
        return web.Response(
            status=answer.status, body=answer.body, content_type=answer.content_type, headers=answer.headers or headers
        )

    # -- worker threads ------------------------------------------------------------------------------------------

    def _process(self, raw: bytes, encoding: str, content_type: str, label: str) -> _Answer:
        """The shared ingest's work (decompress, decode, spool, queue), answered in HTTP."""
        protobuf = content_type in PROTOBUF_TYPES
        outcome = self.ingest.process(raw, encoding, protobuf, label)
        if outcome.kind == ACCEPTED:
            return _success(outcome.decoded, protobuf)
        if outcome.kind == BUSY:
            return _busy(outcome.message)
        return _error(413 if outcome.kind == TOO_LARGE else 400, outcome.message)


class _Refused(asyncio.Protocol):
    """Every connection is busy with a request: answer 503 and close, without parsing anything."""

    def connection_made(self, transport) -> None:
        body = b'{"code":503,"message":"too many connections; retry later"}'
        transport.write(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: %s\r\nConnection: close\r\n" % retry_after().encode()
            + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )
        transport.close()


def _error(status: int, message: str) -> _Answer:
    return _Answer(status, orjson.dumps({"code": status, "message": message}), JSON)


def _busy(message: str) -> _Answer:
    answer = _error(503, message)
    answer.headers = {"Retry-After": retry_after()}
    return answer


def _success(decoded, protobuf: bool) -> _Answer:
    """An `ExportTraceServiceResponse` in the request's encoding: empty, or with `partial_success` when spans were
    rejected."""
    if protobuf:
        return _Answer(200, export_response(decoded), PROTOBUF)
    if not decoded.problems:
        return _Answer(200, b"{}", JSON)
    partial = {"rejectedSpans": str(decoded.rejected), "errorMessage": decoded.error_message}  # int64 as a JSON string
    return _Answer(200, orjson.dumps({"partialSuccess": partial}), JSON)
