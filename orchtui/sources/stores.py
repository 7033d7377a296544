"""Trace stores as sources (`phoenix://`, `clickhouse://`, `jaeger://`, `tempo://`): a `RemoteSource`
(orchtui.remote) read once (`read_once()`: `open`, `check`, …) or polled live (`poll()` through
orchtui.remote.poller: `tail`). A polled store is polled on the source's own thread (`RemotePoller.run`), and while
its polls fail the failure is the source's `status.problem` (cleared when it answers again)."""

from __future__ import annotations

from parsers.span import ReadError, Span

from ..bulk import bulk_load
from ..remote import RemoteError, redact_url, source_for
from ..remote.base import short_label
from ..remote.poller import Polled, RemotePoller
from .base import FOLLOW, ONCE, Source, SpanSink


class StoreSource(Source):
    """One store URL. `label` is the URL without credentials or query (the store's own label once it is made);
    `short` is how the status line and the `!` screen name it (`jaeger 127.0.0.1:16686 service=s`)."""

    kind = "store"

    def __init__(self, url: str, *, follow: bool = False) -> None:
        self.short = short_label(url)  # never shows a password or a secret-like parameter
        super().__init__(redact_url(url), [self.short])
        self.mode = FOLLOW if follow else ONCE
        self._url = url
        self._sink: SpanSink | None = None
        # Polled live: the poller's state per store is what the `!` screen shows (made now, so it lists the store
        # as starting before the first poll).
        self.poller = RemotePoller([url], self._deliver, self._report, self._problem) if follow else None

    @property
    def polled(self) -> Polled | None:
        return self.poller.stores[0] if self.poller is not None else None

    def _deliver(self, spans: list[Span]) -> None:
        self._sink.add(spans)  # type: ignore[union-attr]
        self.status.spans += len(spans)

    def _report(self, errors: list[ReadError], skipped: dict[str, int]) -> None:
        self._sink.add_errors(errors, skipped)  # type: ignore[union-attr]

    def _problem(self, polled: Polled) -> None:
        """The store started failing, fails another way, or answers again (from the polling thread)."""
        self.status.problem = polled.problem

    def open(self, sink: SpanSink) -> None:
        self._sink = sink

    def run(self, sink: SpanSink) -> None:
        if self.poller is not None:
            self.poller.run()  # polls on this thread until stop() (_halt) stops it
            return
        self._read_once(sink)

    def _halt(self) -> None:
        if self.poller is not None:
            self.poller.stop()

    def _read_once(self, sink: SpanSink) -> None:
        """Everything the URL selects, batch by batch; a store that cannot be read is unreadable (exit status 2)."""
        report = self.report
        try:
            source = source_for(self._url)
        except RemoteError as exc:
            self._unreadable(sink, ReadError(self.label, str(exc)))
            return
        name = self.label = source.label
        report.spans[name] = 0
        report.files[name] = None
        try:
            with bulk_load():
                for result in source.read_once():
                    report.files[name] = result.format or report.files[name]
                    report.spans[name] += len(result.spans)
                    if result.spans:
                        sink.add(result.spans)
                        self.status.spans += len(result.spans)
                    sink.add_errors(result.errors, result.skipped)
                    if self.stopping:
                        return
        except RemoteError as exc:
            self._unreadable(sink, ReadError(name, str(exc)))

    def _unreadable(self, sink: SpanSink, error: ReadError) -> None:
        self.report.unreadable.append(error)
        self.status.problem = error.message
        sink.add_errors([error])
