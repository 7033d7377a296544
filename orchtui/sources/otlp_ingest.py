"""What the OTLP receivers share: from a request body as received to spans delivered, whatever the transport.

The HTTP endpoint (`otlp_http`) and the gRPC endpoint (`otlp_grpc`) differ only in how a body arrives and how the
answer is sent. Both hand the raw body to one `Ingest`, which

- decompresses (HTTP's Content-Encoding; gRPC's own compression is undone by gRPC), decodes and bounds it on worker
  threads in two lanes (bodies up to `large_body`, and larger ones on a worker of their own), so one huge or hostile
  request never stalls the other clients and small requests never queue behind it;
- appends it to the spool before the answer goes out (a crash loses nothing acknowledged), and makes the spool
  record its spans' source: their payloads can wait there rather than in memory (parsers/payloads.py);
- queues the spans for one consumer thread that delivers them in order and survives any span;
- says what happened as an `Outcome` (accepted, too large, malformed, busy), which each transport turns into its
  own status (200/413/400/503 for HTTP; OK/RESOURCE_EXHAUSTED/INVALID_ARGUMENT/UNAVAILABLE for gRPC).

When both endpoints run they share one `Ingest`: one spool, one queue, one set of counts.
"""

from __future__ import annotations

import hmac
import math
import queue
import random
import resource
import threading
from collections import deque
from collections.abc import Callable
from typing import BinaryIO
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from parsers.span import ReadError, Source, Span

from .defaults import DEFAULT_HOST, DEFAULT_MAX_BODY
from .otlp_decode import Decoded, Limits, Malformed, TooLarge, decode_json, decode_protobuf, decompress
from .spool import PREFIX, Spool

QUEUE_BATCHES = 256  # decoded requests waiting for the consumer; more is answered busy (the client retries)

Deliver = Callable[[list[Span]], object]
Report = Callable[[list[ReadError], dict[str, int]], None]

# How long a client told "busy" is asked to wait before it retries, drawn afresh for each refusal: exporters refused
# together come back spread over a second instead of in the same instant. The OTel SDK exporters wait exactly what
# they are told, so a fixed 1 s had kept a crowd of them in step, refused together again, until they gave up.
RETRY_DELAY_S = (0.5, 1.5)


def retry_delay() -> float:
    """Seconds for one refusal's RetryInfo (gRPC); `retry_after` rounds it for HTTP's whole seconds."""
    return random.uniform(*RETRY_DELAY_S)  # spreading retries, not a secret


def retry_after() -> str:
    """A `Retry-After` value: the delay rounded up to HTTP's whole seconds, 1 or 2."""
    return str(math.ceil(retry_delay()))


# Outcome kinds
ACCEPTED = "accepted"
TOO_LARGE = "too large"
MALFORMED = "malformed"
BUSY = "busy"


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
    # gRPC multiplexes every request of an exporter on one connection: a quarter of the budget is plenty, and the
    # two endpoints together stay within the descriptors the process can hold.
    grpc_connections: int = field(default_factory=lambda: max(16, min(256, _descriptor_budget() // 4)))


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
class Outcome:
    kind: str  # ACCEPTED, TOO_LARGE, MALFORMED or BUSY
    message: str = ""
    decoded: Decoded | None = None


@dataclass
class Lane:
    """A worker pool and how many requests it holds (receiving, decoding or waiting). Claimed from the transports'
    own threads (the HTTP event loop, the gRPC one), hence the lock."""

    executor: ThreadPoolExecutor
    limit: int
    pending: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def full(self) -> bool:
        return self.pending >= self.limit

    def claim(self) -> bool:
        """Take a place in the lane; False (answer busy) when it is full."""
        with self._lock:
            if self.pending >= self.limit:
                return False
            self.pending += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.pending -= 1


@dataclass
class _Batch:
    label: str
    spans: list[Span]
    errors: list[ReadError]


class SpooledRequest:
    """Reads one spooled request again, decoded as it was when it arrived (a Source's `reparse`): a JSON line, or
    a length-prefixed protobuf frame."""

    __slots__ = ("decode", "limits")

    def __init__(self, decode, limits: Limits) -> None:
        self.decode, self.limits = decode, limits

    def __call__(self, file: BinaryIO, source: Source) -> list[Span]:
        if self.decode is decode_json:
            body = file.readline()
        else:
            length = int.from_bytes(file.read(PREFIX), "big")
            if length > self.limits.max_body:
                raise ValueError(f"a frame of {length:,} bytes is not a spooled request")
            body = file.read(length)
        return self.decode(body, source, self.limits).spans


class Ingest:
    """Decodes, spools and delivers request bodies for one or more transports (see the module docstring).

    `report` (the follower's signature) receives the problems of each request (unreadable spans, a `deliver` that
    raised) labelled with the request; without it they are kept in `recent_errors` only.
    """

    def __init__(
        self,
        deliver: Deliver,
        *,
        max_body: int,
        spool: Spool | None = None,
        report: Report | None = None,
        limits: ReceiverLimits | None = None,
    ) -> None:
        self.deliver = deliver
        self.report = report
        self.max_body = max_body
        self.spool = spool
        self.limits = limits or ReceiverLimits()
        self.stats = ReceiverStats()
        self.recent_errors: deque[ReadError] = deque(maxlen=100)
        self._decode_limits = Limits(max_body, self.limits.max_spans, self.limits.max_messages)
        self._spooled = {protobuf: SpooledRequest(decode_protobuf if protobuf else decode_json, self._decode_limits) for protobuf in (False, True)}
        self._stats_lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._slots = threading.BoundedSemaphore(QUEUE_BATCHES)  # taken before spooling, freed once delivered
        # Two lanes, so small requests never queue behind a large one being decoded.
        self.lanes = (
            Lane(ThreadPoolExecutor(self.limits.workers, thread_name_prefix="orchtui-otlp-decode"), self.limits.pending),
            Lane(ThreadPoolExecutor(1, thread_name_prefix="orchtui-otlp-decode-large"), self.limits.large_pending),
        )
        self._requests = 0
        self._requests_lock = threading.Lock()
        self._consumer = threading.Thread(target=self._consume, name="orchtui-otlp-ingest", daemon=True)
        self._started = self._stopped = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._consumer.start()

    def stop(self, close_spool: bool = True) -> None:
        """Finish what was accepted (decoding, delivery), then close the spool (unless told not to: an endpoint
        that could not listen leaves the spool to its caller). Once only."""
        if self._stopped:
            return
        self._stopped = True
        for lane in self.lanes:
            lane.executor.shutdown(wait=True)
        self._queue.put(None)
        if self._started:
            self._consumer.join(timeout=5)
        if self.spool is not None and close_spool:
            self.spool.close()

    def lane(self, size: int) -> Lane:
        """The lane a body of `size` bytes (as received) is decoded in."""
        return self.lanes[size > self.limits.large_body]

    def next_request(self) -> int:
        """A number for the next request's label (`… #7`), shared by the transports."""
        with self._requests_lock:
            self._requests += 1
            return self._requests

    def count(self, **amounts: int) -> None:
        with self._stats_lock:
            for name, amount in amounts.items():
                setattr(self.stats, name, getattr(self.stats, name) + amount)

    # -- worker threads ------------------------------------------------------------------------------------------

    def process(self, raw: bytes, encoding: str, protobuf: bool, label: str) -> Outcome:
        """Decompress, decode, spool, queue for the consumer: everything between receiving a body and answering.
        Runs on a lane's worker; nothing the body holds escapes as an exception."""
        what = "protobuf" if protobuf else "JSON"
        try:
            body = decompress(raw, encoding, self.max_body)
            if len(body) > self.max_body:
                raise TooLarge(f"request body over {self.max_body:,} bytes")
            decode = decode_protobuf if protobuf else decode_json
            decoded = decode(body, Source(label), self._decode_limits)
        except TooLarge as exc:
            return Outcome(TOO_LARGE, str(exc))
        except Malformed as exc:
            return Outcome(MALFORMED, f"cannot decode the {what} body: {exc}")
        except Exception as exc:  # noqa: BLE001 - whatever the data does, the client is told, never a crash
            return Outcome(MALFORMED, f"cannot decode the {what} body: {type(exc).__name__}: {exc}")
        if not self._slots.acquire(blocking=False):
            return Outcome(BUSY, "ingest is saturated; retry later")
        try:
            if self.spool is not None and (decoded.spans or decoded.rejected):  # an empty request leaves nothing
                path, offset = (self.spool.write_proto if protobuf else self.spool.write_json)(body)
                in_spool = Source(str(path), offset=offset, reparse=self._spooled[protobuf])
                for span in decoded.spans:  # the spool is their file: payloads can wait there (parsers/payloads.py)
                    span.source = in_spool
        except OSError as exc:
            self._slots.release()
            self.count(spool_errors=1)
            self.note([ReadError(label, f"not spooled, answered busy (retry): {exc}")])
            return Outcome(BUSY, f"cannot store the request ({exc.strerror or exc}); retry later")
        errors = [ReadError(label, warning) for warning in decoded.warnings]
        if decoded.problems:
            errors.append(ReadError(label, f"{decoded.rejected} span(s) rejected: {decoded.error_message}"))
        self.count(requests=1, spans=len(decoded.spans), rejected_spans=decoded.rejected)
        self._queue.put(_Batch(label, decoded.spans, errors))
        return Outcome(ACCEPTED, decoded=decoded)

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
            self.note(errors)

    def _deliver_one_by_one(self, batch: _Batch) -> list[ReadError]:
        errors = []
        for span in batch.spans:
            try:
                self.deliver([span])
            except Exception as exc:  # noqa: BLE001
                errors.append(ReadError(batch.label, f"span {span.span_id!r} not shown: {type(exc).__name__}: {exc}"))
        return errors

    def note(self, errors: list[ReadError]) -> None:
        if not errors:
            return
        self.count(read_errors=len(errors))
        self.recent_errors.extend(errors)
        if self.report is not None:
            try:
                self.report(errors, {})
            except Exception as exc:  # noqa: BLE001 - a failing report must not stop ingest either
                self.recent_errors.append(ReadError("otlp receiver", f"reporting failed: {type(exc).__name__}: {exc}"))


def bearer_matches(header: str | None, token: str) -> bool:
    """`Bearer TOKEN` (HTTP's Authorization header, gRPC's `authorization` metadata), the scheme in any case
    (RFC 9110 §11.1), compared in constant time."""
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def export_response(decoded: Decoded) -> bytes:
    """A protobuf `ExportTraceServiceResponse`: empty, or with `partial_success` when spans were rejected."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    response = ExportTraceServiceResponse()
    if decoded.problems:
        response.partial_success.rejected_spans = decoded.rejected
        response.partial_success.error_message = decoded.error_message
    return response.SerializeToString()


class Endpoint:
    """What every OTLP endpoint holds: its address and token, and an `Ingest` of its own (from `deliver`, `spool`,
    `report`, `limits`, `max_body`) or one shared with another endpoint (`ingest`: one spool, queue and set of counts
    for both, stopped by the endpoint that made it). Subclasses name their `default_port` and set up their server
    in `_setup`."""

    default_port = 0

    def __init__(
        self,
        deliver: Deliver | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        token: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        spool: Spool | None = None,
        report: Report | None = None,
        limits: ReceiverLimits | None = None,
        ingest: Ingest | None = None,
    ) -> None:
        self._owns_ingest = ingest is None
        if ingest is None:
            if deliver is None:
                raise TypeError(f"{type(self).__name__} needs `deliver` or a shared `ingest`")
            ingest = Ingest(deliver, max_body=max_body, spool=spool, report=report, limits=limits)
        self.ingest = ingest
        self.host, self.port = host, self.default_port if port is None else port
        self.token = token
        self.max_body = ingest.max_body
        self.limits = ingest.limits
        self._setup()

    def _setup(self) -> None:
        """The server's own state (threads not started yet)."""

    # What the ingest holds, under the names the UI and tests have always used.
    @property
    def stats(self) -> ReceiverStats:
        return self.ingest.stats

    @property
    def spool(self) -> Spool | None:
        return self.ingest.spool

    @property
    def recent_errors(self) -> deque[ReadError]:
        return self.ingest.recent_errors

    def _stop_ingest(self, close_spool: bool = True) -> None:
        """Stop the ingest if this endpoint made it; an endpoint that could not listen passes close_spool=False
        (the caller's spool: it may give it to another endpoint)."""
        if self._owns_ingest:
            self.ingest.stop(close_spool)
