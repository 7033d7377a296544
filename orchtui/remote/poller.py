"""Live trace stores: `orchtui tail URL...` polls each store's source on a background thread and delivers the new
spans, as the file follower delivers new lines (same `deliver(spans)` and `report(errors, skipped)` callbacks).

Each source is polled every `interval` seconds (its URL's `interval=`, default 2 s; the wait begins when a poll
ends), each on its own thread, so a store slow to answer delays no other. A poll returns only spans not delivered
before (the sources de-duplicate by span id). A store that cannot be reached is reported once (as a read error
naming it, not again every interval while the failure is the same) and polled again at the next interval. Nothing
here blocks the UI.

`stores` holds one `Polled` per URL from the start (the sources are made on the thread: a URL that names no store
stays listed, failing), each with its state, interval, spans delivered and last poll, for the `!` screen; the
polling threads write them and the screen only reads them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from parsers.span import ReadError, Span

from .base import RemoteError, RemoteSource, redact_url

Deliver = Callable[[list[Span]], object]
Report = Callable[[list[ReadError], dict[str, int]], None]


STARTING, POLLING, FAILING, IDLE = "starting", "polling", "failing", "idle"


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
    def __init__(self, urls: list[str], deliver: Deliver, report: Report) -> None:
        self.urls = list(urls)
        self.deliver = deliver
        self.report = report
        self.stores: list[Polled] = [Polled(redact_url(url), None, None) for url in self.urls]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="orchtui-remote-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for store in self.stores:
            close = getattr(store.source, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing a client on the way out must not raise
                    pass

    def _run(self) -> None:
        from . import source_for  # here: the package imports this module's neighbours lazily too

        for url, store in zip(self.urls, self.stores):
            try:
                source = source_for(url)
            except RemoteError as exc:
                self.report([ReadError(store.label, str(exc))], {})
                store.problem, store.failing_since = str(exc), time.time()
                continue
            store.interval = float(getattr(source, "interval", 2.0) or 2.0)
            store.label = source.label
            store.source = source
        loops = [threading.Thread(target=self._loop, args=(store,), name=f"orchtui-poll-{number}", daemon=True)
                 for number, store in enumerate(self.stores) if store.source is not None]
        for loop in loops:
            loop.start()
        for loop in loops:  # this thread ends when every store's has: stop() joins it
            loop.join()

    def _loop(self, store: Polled) -> None:
        """One store's polls, on its own thread: a store slow to answer delays no other."""
        while not self._stop.is_set():
            store.polling_since = time.monotonic()
            try:
                self._poll(store)
            finally:
                store.polling_since = None
                store.last_poll = time.time()
            self._stop.wait(store.interval or 2.0)

    def _failed(self, store: Polled, message: str) -> None:
        if message != store.problem:  # said once, not every interval
            self.report([ReadError(store.label, message)], {})
        if store.problem is None:
            store.failing_since = time.time()
        store.problem = message

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
        store.problem = store.failing_since = None
        store.polls += 1
