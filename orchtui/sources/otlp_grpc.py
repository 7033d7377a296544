"""An OTLP/gRPC trace endpoint: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, the optional extra
`orchtui[grpc]` (grpcio).

What the Python SDK's default `otlp` exporter, `opentelemetry-distro` and `phoenix.otel.register()` send (to
4317). Built on grpcio's asyncio server with a generic handler that takes the raw request bytes: nothing is parsed
into a protobuf object and encoded again; the bytes go to the same `Ingest` as OTLP/HTTP's protobuf bodies (see
`otlp_ingest`): decoded on the same bounded workers, appended to the same spool before the answer, delivered by the
same consumer, counted together.

Export is registered as a client-streaming method. On the wire a unary call is the same (one message, then the
end of the stream), but the handler then runs before the message is read, so the token and the decoders'
capacity are checked first, and a request that would be refused is never buffered.

Answers (OTLP spec, §OTLP/gRPC):
- OK with an `ExportTraceServiceResponse`, carrying `partial_success` (rejected spans and why) when some spans
  could not be read;
- UNAUTHENTICATED without `authorization: Bearer TOKEN` metadata when a token is configured (scheme in any case);
- RESOURCE_EXHAUSTED above the size limit (gRPC's `max_receive_message_length`, which counts the decompressed
  message) or the span/message caps: not retryable, the request is too big;
- INVALID_ARGUMENT for a message that cannot be read at all;
- UNAVAILABLE, with `google.rpc.RetryInfo` (0.5-1.5 s, drawn for each refusal), when the decoders or the ingest queue are full or the spool cannot
  be written: exporters retry, and nothing of such a request is kept;
- DEADLINE_EXCEEDED when the message does not arrive within `body_timeout`.

Connections: idle ones are closed after `idle_timeout` (as are handshakes that do not finish), at most
`grpc_connections` are open, and gRPC's own log goes to the read errors, never to the terminal (it would tear the
UI).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import threading

from parsers.span import ReadError

from .defaults import DEFAULT_GRPC_PORT
from .otlp_ingest import ACCEPTED, BUSY, TOO_LARGE, Endpoint, Ingest, bearer_matches, export_response, retry_delay

__all__ = ["DEFAULT_GRPC_PORT", "GRPC_MISSING", "OtlpGrpcReceiver", "grpc_available"]

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
METHOD = "Export"
GRPC_MISSING = "OTLP/gRPC needs the grpc extra: pip install 'orchtui[grpc]'"
MAX_RPCS = 256  # calls open at once (above: RESOURCE_EXHAUSTED from gRPC itself); refused ones cost no body


def retry_info(delay_s: float) -> bytes:
    """google.rpc.RetryInfo{retry_delay: Duration} serialized: the OTLP exporters wait this long before retrying."""
    from google.protobuf.duration_pb2 import Duration

    seconds, fraction = divmod(delay_s, 1)
    duration = Duration(seconds=int(seconds), nanos=int(fraction * 1e9)).SerializeToString()
    return b"\x0a" + bytes([len(duration)]) + duration  # field 1, length-delimited (a Duration is under 128 bytes)


def grpc_available() -> bool:
    return importlib.util.find_spec("grpc") is not None


class OtlpGrpcReceiver(Endpoint):
    """Receives OTLP/gRPC trace exports; like `OtlpReceiver`, or sharing its `ingest` (one spool and queue for
    both endpoints, stopped by its owner)."""

    default_port = DEFAULT_GRPC_PORT

    def _setup(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="orchtui-otlp-grpc", daemon=True)
        self._log = _ToReadErrors(self.ingest)

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"grpc://{host}:{self.port}"

    def start(self) -> None:
        """Listen; raises OSError when the address cannot be bound, ImportError without grpcio."""
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # gRPC core logs to stderr, under the UI; must precede import
        if not grpc_available():
            raise ImportError(GRPC_MISSING)
        logging.getLogger("grpc").addHandler(self._log)
        self.ingest.start()
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            self._release(close_spool=False)  # the caller's spool: it may give it to another endpoint
            raise self._error

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and self._stopped is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stopped.set)
            except RuntimeError:  # the loop closed meanwhile
                pass
        self._thread.join(timeout=10)
        self._release()

    def _release(self, close_spool: bool = True) -> None:
        logging.getLogger("grpc").removeHandler(self._log)
        self._stop_ingest(close_spool)

    # -- server thread -------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # noqa: BLE001 - said to `start`, or as a read error once running
            if not self._ready.is_set():
                self._error = exc if isinstance(exc, OSError) else OSError(str(exc))
                self._ready.set()
            else:
                self.ingest.note([ReadError(self.endpoint, f"the gRPC server stopped: {type(exc).__name__}: {exc}")])

    async def _run(self) -> None:
        import grpc

        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        idle_ms = int(self.limits.idle_timeout * 1000)
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", self.ingest.max_body),
                ("grpc.so_reuseport", 0),  # a port in use is an error, not a second listener sharing it
                ("grpc.max_connection_idle_ms", idle_ms),
                ("grpc.server_handshake_timeout_ms", idle_ms),
                ("grpc.max_allowed_incoming_connections", self.limits.grpc_connections),
                ("grpc.max_concurrent_streams", 100),  # per connection: HTTP/2's recommended minimum
            ],
            maximum_concurrent_rpcs=MAX_RPCS,
        )
        handler = grpc.stream_unary_rpc_method_handler(self._export)  # no (de)serializers: raw bytes both ways
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {METHOD: handler}),))
        address = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        try:
            port = server.add_insecure_port(address)
        except RuntimeError as exc:  # grpcio's "Failed to bind to address …"
            raise OSError(f"cannot bind {address} (in use, or not an address of this machine)") from exc
        if port == 0:
            raise OSError(f"cannot bind {address}")
        self.port = port  # port 0 asks the OS for a free one
        await server.start()
        self._ready.set()
        await self._stopped.wait()
        await server.stop(grace=1)

    async def _export(self, requests, context):
        """One Export call. Every refusal is an `abort` with its status; nothing the client sends escapes as an
        exception (an unexpected one is reported and answered INTERNAL)."""
        import grpc

        try:
            return await self._answer(requests, context)
        except grpc.aio.AbortError:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad call never reaches gRPC's log or stops the server
            if context.cancelled() or context.done():  # the client went away (cancelled, deadline): nothing to say
                self.ingest.count(rejected=1)
                raise asyncio.CancelledError from None
            self.ingest.note([ReadError(f"{_peer(context)} gRPC Export", f"internal error: {type(exc).__name__}: {exc}")])
            await self._refuse(context, grpc.StatusCode.INTERNAL, "internal error; see the receiver's read errors")

    async def _answer(self, requests, context) -> bytes:
        import grpc

        if self.token is not None and not bearer_matches(_metadata(context, "authorization"), self.token):
            await self._refuse(context, grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        announced = self.ingest.lane(0)  # the size is known once read
        if not announced.claim():
            await self._busy(context, "the decoders are saturated; retry later")
        try:
            try:
                raw = await asyncio.wait_for(anext(aiter(requests)), self.limits.body_timeout)
            except StopAsyncIteration:  # no message: none was sent, or gRPC refused it (over the size limit)
                await self._refuse(context, grpc.StatusCode.INVALID_ARGUMENT, "no request message (or one over the size limit)")
            except TimeoutError:
                await self._refuse(
                    context, grpc.StatusCode.DEADLINE_EXCEEDED, f"the request did not arrive within {self.limits.body_timeout:g} s"
                )
        finally:
            announced.release()
        lane = self.ingest.lane(len(raw))
        if not lane.claim():
            await self._busy(context, "the decoders are saturated; retry later")
        label = f"{_peer(context)} gRPC Export #{self.ingest.next_request()}"
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(lane.executor, self._process, raw, label)
        finally:
            lane.release()
        if outcome.kind == ACCEPTED:
            return export_response(outcome.decoded)
        if outcome.kind == BUSY:
            await self._busy(context, outcome.message)
        code = grpc.StatusCode.RESOURCE_EXHAUSTED if outcome.kind == TOO_LARGE else grpc.StatusCode.INVALID_ARGUMENT
        await self._refuse(context, code, outcome.message)

    def _process(self, raw: bytes, label: str):
        """On a lane's worker: gRPC already undid its compression."""
        return self.ingest.process(raw, "identity", True, label)

    async def _refuse(self, context, code, message: str, trailing=()) -> None:
        from ..textsafe import printable

        self.ingest.count(rejected=1)
        await context.abort(code, printable(message, True, limit=1000), trailing_metadata=trailing)

    async def _busy(self, context, message: str) -> None:
        import grpc

        await self._refuse(context, grpc.StatusCode.UNAVAILABLE, message, (("google.rpc.retryinfo-bin", retry_info(retry_delay())),))


def _metadata(context, key: str) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name == key:
            return value if isinstance(value, str) else None
    return None


def _peer(context) -> str:
    try:
        return str(context.peer() or "client")
    except Exception:  # noqa: BLE001
        return "client"


class _ToReadErrors(logging.Handler):
    """gRPC's own warnings and errors (a call it could not finish, a broken connection) become read errors of the
    receiver: shown on the sources screen, never written over the UI."""

    def __init__(self, ingest: Ingest) -> None:
        super().__init__(logging.WARNING)
        self.ingest = ingest

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().splitlines()[0] if record.getMessage() else record.levelname
            self.ingest.note([ReadError("otlp grpc", f"gRPC: {message[:500]}")])
        except Exception:  # noqa: BLE001 - logging must never raise into gRPC
            pass
