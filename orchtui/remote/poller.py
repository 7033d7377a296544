"""Live trace stores: `orchtui tail URL...` polls each store's source on a background thread and delivers the new
spans, as the file follower delivers new lines (same `deliver(spans)` and `report(errors, skipped)` callbacks).

Each source is polled every `interval` seconds (its URL's `interval=`, default 2 s), one after the other on one
thread; a poll returns only spans not delivered before (the sources de-duplicate by span id). A store that cannot
be reached is reported once (as a read error naming it, not again every interval while the failure is the same) and
polled again at the next interval. Nothing here blocks the UI.
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


@dataclass(slots=True)
class Polled:
    """One store as the sources screen shows it."""

    label: str
    source: RemoteSource | None
    interval: float
    polls: int = 0
    spans: int = 0
    problem: str | None = None  # the last poll's failure; None once it answers
    due: float = 0.0


class RemotePoller:
    def __init__(self, urls: list[str], deliver: Deliver, report: Report) -> None:
        self.urls = list(urls)
        self.deliver = deliver
        self.report = report
        self.stores: list[Polled] = []
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

        for url in self.urls:
            try:
                source = source_for(url)
            except RemoteError as exc:
                self.report([ReadError(redact_url(url), str(exc))], {})
                continue
            self.stores.append(Polled(source.label, source, float(getattr(source, "interval", 2.0) or 2.0)))
        while self.stores and not self._stop.is_set():
            now = time.monotonic()
            for store in self.stores:
                if store.due <= now and not self._stop.is_set():
                    self._poll(store)
                    store.due = time.monotonic() + store.interval
            wait = min(store.due for store in self.stores) - time.monotonic()
            self._stop.wait(max(0.05, wait))

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
            message = str(exc)
            if message != store.problem:  # said once, not every interval
                self.report([ReadError(store.label, message)], {})
            store.problem = message
            return
        except Exception as exc:  # noqa: BLE001 - a bug in one store's poll must not end the others' polling
            message = f"poll failed: {type(exc).__name__}: {exc}"
            if message != store.problem:
                self.report([ReadError(store.label, message)], {})
            store.problem = message
            return
        store.problem = None
        store.polls += 1
