"""The OTLP receivers as one source: the HTTP endpoint (`--otlp`), the gRPC one (`--otlp-grpc`), or both sharing
one ingest (one spool, queue and set of counts), writing what they accept to the spool before acknowledging it.

Binding happens on the source's thread (`open`), never on a UI's event loop. An endpoint that cannot listen is
said once (a notice) and left out; the other one still runs. An endpoint listening beyond loopback without a token
is the source's standing `warning`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from ..exposure import exposure_warning
from .base import FOLLOW, Notice, Source, SpanSink
from .defaults import DEFAULT_MAX_BODY
from .otlp_http import OtlpReceiver
from .spool import Spool, SpoolCap

HTTP, GRPC = "otlp", "otlp-grpc"
TITLES = {HTTP: "OTLP receiver", GRPC: "OTLP/gRPC receiver"}
PROTOCOLS = {HTTP: "OTLP/HTTP", GRPC: "OTLP/gRPC"}
SPOOL_CAP = "spool cap"  # the title of the notice the spool cap's pruning tells


@dataclass
class Listener:
    """One endpoint asked for: `endpoint` once it listens; `failed` (and why: `error`) when it could not."""

    name: str  # HTTP or GRPC: how the status line and the `!` screen name it
    host: str
    port: int
    endpoint: object | None = None  # an OtlpReceiver or OtlpGrpcReceiver, listening
    failed: bool = False
    error: str | None = None  # what binding raised


class ReceiverSource(Source):
    kind = "otlp"
    mode = FOLLOW

    def __init__(
        self,
        http: tuple[str, int] | None = None,
        grpc: tuple[str, int] | None = None,
        *,
        token: str | None = None,
        spool: Path | None = None,
        spool_max: SpoolCap | None = None,
        spool_family: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.listeners = [Listener(name, *address) for name, address in ((HTTP, http), (GRPC, grpc)) if address is not None]
        super().__init__("")
        self.token = token
        self.spool_base, self.spool_max, self.spool_family = spool, spool_max, spool_family
        self.max_body = max_body
        self._closed = False
        self._close_lock = threading.Lock()

    @property
    def label(self) -> str:  # type: ignore[override]
        """`otlp 127.0.0.1:4318 + otlp-grpc 127.0.0.1:4317 → spool BASE.otlp.*`: the endpoints not known to have
        failed (with the port bound once listening); "" when none is left."""
        names = [f"{listener.name} {_where(listener)}" for listener in self.listeners if not listener.failed]
        if not names:
            return ""
        label = " + ".join(names)
        return label + (f" → spool {self.spool_base}.otlp.*" if self.spool_base is not None else "")

    @label.setter
    def label(self, value: str) -> None:
        pass  # made from the endpoints

    @property
    def listening(self) -> list:
        return [listener.endpoint for listener in self.listeners if listener.endpoint is not None]

    @property
    def spool(self) -> Spool | None:
        """The spool the endpoints write (None when none listens, or none was asked for)."""
        listening = self.listening
        return listening[0].spool if listening else None

    @property
    def stats(self):
        """The counts of the ingest the endpoints share (None when none listens)."""
        listening = self.listening
        return listening[0].stats if listening else None

    def open(self, sink: SpanSink) -> None:
        spool = None
        if self.spool_base is not None:
            spool = Spool(self.spool_base, self.spool_max, family=self.spool_family, on_prune=self._pruned)
        shared: dict = {"deliver": self._deliver(sink), "spool": spool, "report": sink.add_errors, "max_body": self.max_body}
        for listener in self.listeners:
            if listener.name == HTTP:
                endpoint = OtlpReceiver(host=listener.host, port=listener.port, token=self.token, **shared)
            else:
                from .otlp_grpc import OtlpGrpcReceiver

                endpoint = OtlpGrpcReceiver(host=listener.host, port=listener.port, token=self.token, **shared)
            if self._listen(listener, endpoint):
                shared = {"ingest": endpoint.ingest}  # the next endpoint shares it: one spool, queue and counts
        if not self.listening and spool is not None:
            spool.close()

    def _deliver(self, sink: SpanSink):
        def deliver(spans) -> None:
            sink.add(spans)
            self.status.spans += len(spans)

        return deliver

    def _listen(self, listener: Listener, endpoint) -> bool:
        try:
            endpoint.start()
        except (OSError, ImportError) as exc:
            listener.failed, listener.error = True, str(exc)
            self.status.problem = f"cannot listen on {listener.host}:{listener.port}: {exc}"
            self.status.tell(Notice(TITLES[listener.name], f"Cannot listen on {endpoint.host}:{endpoint.port}: {exc}", "error", 30))
            return False
        listener.endpoint = endpoint
        warning = exposure_warning(endpoint.host, self.token)
        if warning is not None:  # said in the UI too: the CLI's stderr warning is hidden under the UI until it quits
            self.status.warning = warning
            self.status.tell(Notice(TITLES[listener.name], warning, "warning", 30))
        return True

    def _pruned(self, message: str) -> None:
        """The spool cap deleted old spool files (from the pruner's thread)."""
        self.status.tell(Notice(SPOOL_CAP, message, "warning", 10))

    def run(self, sink: SpanSink) -> None:
        try:
            if self.listening:
                self.wait_stopped()
        finally:
            self._close()

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        self._close()  # when `run` never ran (`open` failed half-way, or never started)

    def _close(self) -> None:
        """Stop the endpoints, once: the gRPC one first (the HTTP one owns the ingest they share, and closes the
        spool). They stay listed: what they counted and where they spooled is still read after."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        for endpoint in reversed(self.listening):
            endpoint.stop()


def _where(listener: Listener) -> str:
    endpoint = listener.endpoint
    return f"{endpoint.host}:{endpoint.port}" if endpoint is not None else f"{listener.host}:{listener.port}"
