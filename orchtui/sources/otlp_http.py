"""An OTLP/HTTP trace endpoint: `POST …/v1/traces`, protobuf or JSON, optionally gzip/deflate, answered per spec.

Built on aiohttp (no hand-written HTTP). The server runs its own event loop on a background thread, so it works
the same under the TUI (whose loop must never block) and headless (`orchtui serve`). The loop only reads bodies
and writes answers: decompressing, decoding and spooling run on worker threads (`otlp_decode`, `spool`), in two
lanes (bodies up to `large_body`, and larger ones on a worker of their own), so one huge or hostile request never
stalls the other clients and small requests never queue behind it.

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
import hmac
import queue
import resource
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson

from parsers.span import ReadError, Source, Span

from .otlp_decode import (
    JSON_TYPE,
    PROTOBUF_TYPES,
    Decoded,
    Limits,
    Malformed,
    TooLarge,
    decode_json,
    decode_protobuf,
    decompress,
)
from .defaults import DEFAULT_HOST, DEFAULT_MAX_BODY, DEFAULT_PORT
from .spool import Spool, default_spool_base

__all__ = ["DEFAULT_HOST", "DEFAULT_MAX_BODY", "DEFAULT_PORT", "OtlpReceiver", "ReceiverLimits", "Spool", "default_spool_base"]

PROTOBUF = PROTOBUF_TYPES[0]
JSON = JSON_TYPE
QUEUE_BATCHES = 256  # decoded requests waiting for the consumer; more gets 503 + Retry-After
TRACES_PATH = "/v1/traces"

Deliver = Callable[[list[Span]], object]
Report = Callable[[list[ReadError], dict[str, int]], None]


def _descriptor_budget() -> int:
    """Connections the process can hold with room to spare for files, the spool and the TUI."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(16, min(1000, soft - 128))


@dataclass
class ReceiverLimits:
    max_spans: int = 100_000  # spans per request (413 above)
    max_messages: int = 1_000_000  # protobuf messages/fields or JSON objects per request (413 above)
    workers: int = 2  # threads decoding and spooling requests up to `large_body` bytes
    pending: int = 4  # such requests decoding or waiting for a worker; more gets 503 + Retry-After
    large_body: int = 1 << 20  # bodies above this (as received) go to their own single worker ...
    large_pending: int = 2  # ... of which this many may be decoding or waiting; more gets 503 + Retry-After
    idle_timeout: float = 30.0  # seconds a connection may sit without a request (or mid-headers)
    body_timeout: float = 60.0  # seconds to receive a body once its headers arrived (408 after)
    max_connections: int = field(default_factory=_descriptor_budget)


@dataclass
class ReceiverStats:
    requests: int = 0  # acknowledged (200)
    spans: int = 0  # spans acknowledged
    rejected: int = 0  # requests answered with an error status
    rejected_spans: int = 0  # spans of acknowledged requests that could not be read (partial success)
    read_errors: int = 0  # problems reported: unreadable spans, and spans the consumer could not take
    spool_errors: int = 0  # requests answered 503 because the spool could not be written
    evicted: int = 0  # idle connections closed to make room under the connection cap
    refused: int = 0  # connections answered 503 at the cap, every open one being busy (or just accepted)


@dataclass
class _Batch:
    label: str
    spans: list[Span]
    errors: list[ReadError]


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] | None = None


class OtlpReceiver:
    """Receives OTLP/HTTP traces and hands decoded span batches to `deliver` on a consumer thread.

    `report` (the follower's signature) receives the problems of each request (unreadable spans, a `deliver`
    that raised) labelled with the request; without it they are kept in `recent_errors`.
    """

    def __init__(
        self,
        deliver: Deliver,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        token: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        spool: Spool | None = None,
        report: Report | None = None,
        limits: ReceiverLimits | None = None,
    ) -> None:
        self.deliver = deliver
        self.report = report
        self.host, self.port = host, port
        self.token = token
        self.max_body = max_body
        self.spool = spool
        self.limits = limits or ReceiverLimits()
        self.stats = ReceiverStats()
        self.recent_errors: deque[ReadError] = deque(maxlen=100)
        self._decode_limits = Limits(max_body, self.limits.max_spans, self.limits.max_messages)
        self._stats_lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._slots = threading.BoundedSemaphore(QUEUE_BATCHES)  # taken before spooling, freed once delivered
        # Two lanes, so small requests never queue behind a large one being decoded.
        self._lanes = (
            _Lane(ThreadPoolExecutor(self.limits.workers, thread_name_prefix="orchtui-otlp-decode"), self.limits.pending),
            _Lane(ThreadPoolExecutor(1, thread_name_prefix="orchtui-otlp-decode-large"), self.limits.large_pending),
        )
        self._busy: set = set()  # aiohttp protocol objects handling a request now (loop thread only)
        self._fresh: list = []  # protocols created for accepted connections not yet listed by aiohttp
        self._requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner = None
        self._listener: asyncio.AbstractServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._server_thread = threading.Thread(target=self._serve, name="orchtui-otlp", daemon=True)
        self._consumer = threading.Thread(target=self._consume, name="orchtui-otlp-ingest", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}{TRACES_PATH}"

    def start(self) -> None:
        self._consumer.start()
        self._server_thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._server_thread.join(timeout=5)
        for lane in self._lanes:
            lane.executor.shutdown(wait=True)
        self._queue.put(None)
        self._consumer.join(timeout=5)
        if self.spool is not None:
            self.spool.close()

    def _count(self, **amounts: int) -> None:
        with self._stats_lock:
            for name, amount in amounts.items():
                setattr(self.stats, name, getattr(self.stats, name) + amount)

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
        if self.token is not None and not _bearer_matches(request.headers.get("Authorization"), self.token):
            return self._reply(_error(401, "missing or wrong bearer token"))
        content_type = request.content_type
        if content_type not in PROTOBUF_TYPES and content_type != JSON:
            return self._reply(_error(415, f"415 unsupported media type, supported: [{JSON}, {', '.join(PROTOBUF_TYPES)}]"))
        announced = self._lanes[(request.content_length or 0) > self.limits.large_body]
        if announced.full:
            return self._reply(_busy("the decoders are saturated; retry later"))
        self._busy.add(request.protocol)
        try:
            announced.pending += 1
            try:
                raw = await asyncio.wait_for(request.read(), self.limits.body_timeout)
            except web.HTTPRequestEntityTooLarge:
                return self._reply(_error(413, f"request body over {self.max_body:,} bytes"))
            except web.RequestPayloadError as exc:
                return self._reply(_error(400, f"cannot read the body: {exc}"))
            except TimeoutError:
                return self._reply(_error(408, f"the body did not arrive within {self.limits.body_timeout:g} s"))
            finally:
                announced.pending -= 1
            lane = self._lanes[len(raw) > self.limits.large_body]  # a chunked body announced no length
            if lane.full:
                return self._reply(_busy("the decoders are saturated; retry later"))
            self._requests += 1
            label = f"{request.remote or 'client'} POST {request.path} #{self._requests}"
            encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
            lane.pending += 1
            try:
                answer = await asyncio.get_running_loop().run_in_executor(
                    lane.executor, self._process, raw, encoding, content_type, label
                )
            finally:
                lane.pending -= 1
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
        """Decompress, decode, spool, queue for the consumer: everything between reading a body and answering."""
        protobuf = content_type in PROTOBUF_TYPES
        try:
            body = decompress(raw, encoding, self.max_body)
            source = Source(label)
            decode = decode_protobuf if protobuf else decode_json
            decoded = decode(body, source, self._decode_limits)
        except TooLarge as exc:
            return _error(413, str(exc))
        except Malformed as exc:
            return _error(400, f"cannot decode the {content_type} body: {exc}")
        except Exception as exc:  # noqa: BLE001 - whatever the data does, the client gets a 400, never a crash
            return _error(400, f"cannot decode the {content_type} body: {type(exc).__name__}: {exc}")
        if not self._slots.acquire(blocking=False):
            return _busy("ingest is saturated; retry later")
        try:
            if self.spool is not None and (decoded.spans or decoded.rejected):  # an empty request leaves nothing
                (self.spool.write_proto if protobuf else self.spool.write_json)(body)
        except OSError as exc:
            self._slots.release()
            self._count(spool_errors=1)
            self._note([ReadError(label, f"not spooled, answered 503: {exc}")])
            return _busy(f"cannot store the request ({exc.strerror or exc}); retry later")
        errors = [ReadError(label, warning) for warning in decoded.warnings]
        if decoded.problems:
            errors.append(ReadError(label, f"{decoded.rejected} span(s) rejected: {decoded.error_message}"))
        self._count(requests=1, spans=len(decoded.spans), rejected_spans=decoded.rejected)
        self._queue.put(_Batch(label, decoded.spans, errors))
        return _success(decoded, protobuf)

    # -- consumer thread -----------------------------------------------------------------------------------------

    def _consume(self) -> None:
        """Delivers batches in order. Nothing a batch holds stops this thread: a `deliver` that raises is retried
        span by span, and the spans it still refuses are reported against their request."""
        while (batch := self._queue.get()) is not None:
            errors = list(batch.errors)
            try:
                if batch.spans:
                    self.deliver(batch.spans)
            except Exception:  # noqa: BLE001
                errors.extend(self._deliver_one_by_one(batch))
            finally:
                self._slots.release()
            self._note(errors)

    def _deliver_one_by_one(self, batch: _Batch) -> list[ReadError]:
        errors = []
        for span in batch.spans:
            try:
                self.deliver([span])
            except Exception as exc:  # noqa: BLE001
                errors.append(ReadError(batch.label, f"span {span.span_id!r} not shown: {type(exc).__name__}: {exc}"))
        return errors

    def _note(self, errors: list[ReadError]) -> None:
        if not errors:
            return
        self._count(read_errors=len(errors))
        self.recent_errors.extend(errors)
        if self.report is not None:
            try:
                self.report(errors, {})
            except Exception as exc:  # noqa: BLE001 - a failing report must not stop ingest either
                self.recent_errors.append(ReadError("otlp receiver", f"reporting failed: {type(exc).__name__}: {exc}"))


@dataclass
class _Lane:
    """A worker pool and how many requests it holds (decoding or waiting); counted on the loop thread only."""

    executor: ThreadPoolExecutor
    limit: int
    pending: int = 0

    @property
    def full(self) -> bool:
        return self.pending >= self.limit


class _Refused(asyncio.Protocol):
    """Every connection is busy with a request: answer 503 and close, without parsing anything."""

    def connection_made(self, transport) -> None:
        body = b'{"code":503,"message":"too many connections; retry later"}'
        transport.write(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: application/json\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )
        transport.close()


def _bearer_matches(header: str | None, token: str) -> bool:
    """`Authorization: Bearer TOKEN`, the scheme in any case (RFC 9110 §11.1), compared in constant time."""
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def _error(status: int, message: str) -> _Answer:
    return _Answer(status, orjson.dumps({"code": status, "message": message}), JSON)


def _busy(message: str) -> _Answer:
    answer = _error(503, message)
    answer.headers = {"Retry-After": "1"}
    return answer


def _success(decoded: Decoded, protobuf: bool) -> _Answer:
    """An `ExportTraceServiceResponse`: empty, or with `partial_success` when spans were rejected."""
    if protobuf:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        response = ExportTraceServiceResponse()
        if decoded.problems:
            response.partial_success.rejected_spans = decoded.rejected
            response.partial_success.error_message = decoded.error_message
        return _Answer(200, response.SerializeToString(), PROTOBUF)
    if not decoded.problems:
        return _Answer(200, b"{}", JSON)
    partial = {"rejectedSpans": str(decoded.rejected), "errorMessage": decoded.error_message}  # int64 as a JSON string
    return _Answer(200, orjson.dumps({"partialSuccess": partial}), JSON)
