"""Live trace stores: `orchtui tail URL...` polls each store's source and delivers the new spans, as the file
follower delivers new lines (same `deliver(spans)` and `report(errors, skipped)` callbacks).

Each source is polled every `interval` seconds (its URL's `interval=`; by default 2 s for clickhouse://, jaeger://
and tempo://, 0.5 s for phoenix://, whose live poll is one small request; the wait begins when a poll ends). A
poll returns only spans not delivered before (the sources de-duplicate by span id). A store that cannot be reached
is reported once (as a read error naming it, not again every interval while the failure is the same) and polled
again at the next interval. Nothing here blocks the UI.

`run()` polls on the calling thread until `stop()` (a `StoreSource` runs it on its own thread: one thread per
polled store); `start()` runs it on a thread of its own. With several URLs, the first store is polled on that
thread and each other one on a thread of its own, so a store slow to answer delays no other.

`stores` holds one `Polled` per URL from the start (the sources are made when `run` begins: a URL that names no
store stays listed, failing), each with its state, interval, spans delivered and last poll, for the `!` screen; the
polling threads write them and the screen only reads them. `on_problem(polled)`, when given, is called on the
polling thread each time a store's `problem` changes: it starts failing, fails another way, or answers again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from parsers.span import ReadError, Span

from .base import RemoteError, RemoteSource, redact_url

Deliver = Callable[[list[Span]], object]
Report = Callable[[list[ReadError], dict[str, int]], None]


STARTING, POLLING, FAILING, IDLE = "starting", "polling", "failing", "idle"
DEFAULT_INTERVAL_S = 2.0  # a source that names no interval of its own


@dataclass(slots=True)
class Polled:
    """One store as the sources screen shows it."""

    label: str
    source: RemoteSource | None
    interval: float | None  # seconds between polls (None until the source is made)
    polls: int = 0  # polls answered
    spans: int = 0  # spans delivered
    problem: str | None = None  # the last poll's failure; None once it answers
    polling_since: float | None = None  # time.monotonic() when the poll under way began; None between polls
    last_poll: float | None = None  # time.time() when the last poll ended, answered or not
    failing_since: float | None = None  # time.time() of the first failure of the current run of them

    @property
    def state(self) -> str:
        """failing (the last poll failed, or the URL names no store), polling (a poll is under way), idle
        (waiting for the next one), or starting (the source is not made yet)."""
        if self.problem is not None:
            return FAILING
        if self.polling_since is not None:
            return POLLING
        return IDLE if self.source is not None else STARTING


class RemotePoller:
    def __init__(
        self,
        urls: list[str],
        deliver: Deliver,
        report: Report,
        on_problem: Callable[[Polled], object] | None = None,
    ) -> None:
        self.urls = list(urls)
        self.deliver = deliver
        self.report = report
        self.on_problem = on_problem
        self.stores: list[Polled] = [Polled(redact_url(url), None, None) for url in self.urls]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """`run()` on a thread of its own; `stop()` ends it."""
        self._thread = threading.Thread(target=self.run, name="orchtui-remote-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End `run()` (a poll under way ends at its next batch) and wait for the thread `start()` made. Safe from
        any thread, more than once, and before `run()`."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Make each URL's source, then poll until `stop()`, on the calling thread (and one more thread per store
        beyond the first). Returns once stopped, having closed the sources' clients; never raises for a store."""
        from . import source_for  # here: the package imports this module's neighbours lazily too

        try:
            for url, store in zip(self.urls, self.stores):
                if self._stop.is_set():
                    return
                try:
                    source = source_for(url)
                except RemoteError as exc:
                    self.report([ReadError(store.label, str(exc))], {})
                    store.failing_since = time.time()
                    self._set_problem(store, str(exc))
                    continue
                store.interval = float(getattr(source, "interval", DEFAULT_INTERVAL_S) or DEFAULT_INTERVAL_S)
                store.label = source.label
                store.source = source
            polled = [store for store in self.stores if store.source is not None]
            others = [threading.Thread(target=self._loop, args=(store,), name=f"orchtui-poll-{number}", daemon=True)
                      for number, store in enumerate(polled[1:], 1)]
            for other in others:
                other.start()
            if polled:
                self._loop(polled[0])
            else:
                self._stop.wait()  # nothing to poll: still live until stopped, the stores listed as failing
            for other in others:
                other.join()
        finally:
            self._close()

    def _close(self) -> None:
        for store in self.stores:
            close = getattr(store.source, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing a client on the way out must not raise
                    pass

    def _loop(self, store: Polled) -> None:
        """One store's polls until stopped."""
        while not self._stop.is_set():
            store.polling_since = time.monotonic()
            try:
                self._poll(store)
            finally:
                store.polling_since = None
                store.last_poll = time.time()
            self._stop.wait(store.interval or DEFAULT_INTERVAL_S)

    def _set_problem(self, store: Polled, problem: str | None) -> None:
        if problem == store.problem:
            return
        store.problem = problem
        if self.on_problem is not None:
            with contextlib.suppress(Exception):  # whoever listens must not stop the polling
                self.on_problem(store)

    def _failed(self, store: Polled, message: str) -> None:
        if message != store.problem:  # said once, not every interval
            self.report([ReadError(store.label, message)], {})
        if store.problem is None:
            store.failing_since = time.time()
        self._set_problem(store, message)

    def _poll(self, store: Polled) -> None:
        try:
            for result in store.source.poll():  # type: ignore[union-attr]
                if result.spans:
                    store.spans += len(result.spans)
                    self.deliver(result.spans)
                if result.errors or result.skipped:
                    self.report(result.errors, result.skipped)
                if self._stop.is_set():
                    return
        except RemoteError as exc:
            self._failed(store, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a bug in one store's poll must not end the others' polling
            self._failed(store, f"poll failed: {type(exc).__name__}: {exc}")
            return
        self._set_problem(store, None)
        store.failing_since = None
        store.polls += 1
