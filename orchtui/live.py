"""The live trace index: what a trace list shows, kept current off the UI thread.

Sources deliver span batches from worker threads (`ingest`); each batch goes into the store, the traces it
changed are re-analysed right there (never on the UI's event loop), and the index keeps them ordered newest
first. A UI polls `generation` on a timer and, when it moved, takes one consistent `rows()` view and repaints once:
many batches between two frames cost one repaint (coalescing), and readers never wait for analysis.
Once a trace is complete and analysed, its spans' payloads go back to their file when they can
(orchtui/analysing_sink.py): the detail pane reads them back on demand, so a big file costs its hot fields in
memory, not its prompts.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from parsers.span import ReadError, Span

from .analysing_sink import AssembledTrace, adopt_traces, evict_payloads
from .analysis import Analyzer, Finding, TraceAnalysis
from .analysis.routes import BY_PATH, RouteBook
from .analysis.trace import FLAG_ERROR, FLAG_LOOP, FLAG_STOP
from .sorting import NEWEST_FIRST, SortOrder, sort_rows
from .store import SpanStore

# Quick filters cycled by the UI: name -> predicate on an analysis.
QUICK_FILTERS = {
    "all": lambda a: True,
    "errors": lambda a: FLAG_ERROR in a.flags,
    "loops": lambda a: FLAG_LOOP in a.flags,
    "stop reasons": lambda a: FLAG_STOP in a.flags,
}


@dataclass(frozen=True)
class RouteFilter:
    """List only one route's traces (by="path": `key` is its route id) or one family's (by="family": `key` is
    the family name, so the family's running traces show too; a path is only known once a trace completes)."""

    by: str
    key: str
    label: str

    def admits(self, analysis: TraceAnalysis, book: RouteBook) -> bool:
        if self.by != BY_PATH:
            return analysis.name == self.key
        route = book.route_of(analysis.trace_id)
        return route is not None and route.route_id == self.key


class Rows(list):
    """The traces to list, with what the list needs to know about them that costs a pass over every trace (so it
    is worked out on the row worker too): the newest trace listed (follow mode selects it whatever the sort) and
    the services seen across all traces (a service column and filter only when there are several)."""

    newest: str | None = None
    services: tuple[str, ...] = ()


class TraceIndex:
    """Thread-safe: `ingest` from any thread, read from the UI."""

    def __init__(self, store: SpanStore | None = None) -> None:
        self.store = store if store is not None else SpanStore()
        self._analyzer = Analyzer(self.store, final=False)  # a trace without its root may be waiting for it
        self._lock = threading.Lock()
        self._analyses: dict[str, TraceAnalysis] = {}
        self._order: list[tuple[int, str]] = []  # (-start_ns, trace_id): newest first
        self._sort_key: dict[str, tuple[int, str]] = {}
        self.generation = 0  # bumps on every change; the UI's cheap "anything new?" check
        self._alerts: list[tuple[str, str, Finding]] = []
        self._finding_count = 0  # warn and critical findings over the listed traces
        self.routes = RouteBook()  # per-route stats of the completed traces, kept current as they change
        # How the trace list orders and narrows its rows, set by its keys (s, S, v) and read on the row worker.
        self.order: SortOrder = NEWEST_FIRST
        self.service: str | None = None

    # -- writing (worker threads) ------------------------------------------------------------------------------------

    def add(self, spans: Iterable[Span]) -> set[str]:
        batch = list(spans)
        changed = self.store.add(batch)
        evicted = self.store.take_evicted()
        analyses = [analysis for trace_id in changed if (analysis := self._analyzer.get(trace_id)) is not None]
        for analysis in analyses:  # before the generation moves, so a view that sees it reads current routes
            self.routes.update(analysis)
            if not analysis.in_progress:  # complete: what the list, tree and flags need is analysed, the rest
                evict_payloads(analysis)  # waits in the file (a running trace is analysed again at each batch)
        with self._lock:
            for trace_id in evicted:
                self._remove(trace_id)
            for analysis in analyses:
                previous = self._analyses.get(analysis.trace_id)
                self._alert_new_critical(previous, analysis)
                self._place(analysis)
            self.generation += 1
        return changed

    def _alert_new_critical(self, previous: TraceAnalysis | None, analysis: TraceAnalysis) -> None:
        """Remember critical findings the moment their evidence arrives, for live views to announce."""
        # Keyed without the severity's history: a warning that turns critical (the run ended) is news.
        known = {(f.code, f.span_id) for f in previous.findings if f.severity == "critical"} if previous else set()
        for finding in analysis.findings:
            if finding.severity == "critical" and (finding.code, finding.span_id) not in known:
                self._alerts.append((analysis.trace_id, analysis.name, finding))

    def take_alerts(self) -> list[tuple[str, str, Finding]]:
        """(trace id, trace name, finding) for every critical finding that appeared since the last call."""
        with self._lock:
            alerts, self._alerts = self._alerts, []
        return alerts

    def _remove(self, trace_id: str) -> None:
        """Forget an evicted trace: the store bounds memory by dropping whole traces, the index follows."""
        key = self._sort_key.pop(trace_id, None)
        if key is not None:
            del self._order[bisect.bisect_left(self._order, key)]
        removed = self._analyses.pop(trace_id, None)
        if removed is not None:
            self._finding_count -= _notable(removed)
        self._analyzer.forget(trace_id)
        self.routes.remove(trace_id)

    def adopt(self, traces: Iterable[AssembledTrace]) -> None:
        """Traces read, assembled and analysed by a worker process (orchtui/split_load.py), listed with their
        analyses; a trace that also has spans here gets them added, and is analysed again."""
        adopted = adopt_traces(traces, self.store, self._analyzer, self.add)
        evicted = set(self.store.take_evicted())  # a bounded store makes room as traces come, as `add` does
        adopted = [analysis for analysis in adopted if analysis.trace_id not in evicted]
        for analysis in adopted:
            self.routes.update(analysis)
        with self._lock:
            for trace_id in evicted:
                self._remove(trace_id)
            for analysis in adopted:
                self._alert_new_critical(None, analysis)
                self._place(analysis)
            self.generation += 1

    def add_errors(self, errors: list[ReadError], skipped: dict[str, int] | None = None) -> None:
        self.store.add_errors(errors, skipped)
        with self._lock:
            self.generation += 1

    def _place(self, analysis: TraceAnalysis) -> None:
        trace_id = analysis.trace_id
        key = (-(analysis.start_ns or 0), trace_id)
        old = self._sort_key.get(trace_id)
        if old != key:
            if old is not None:
                del self._order[bisect.bisect_left(self._order, old)]
            bisect.insort(self._order, key)
            self._sort_key[trace_id] = key
        previous = self._analyses.get(trace_id)
        self._finding_count += _notable(analysis) - (_notable(previous) if previous is not None else 0)
        self._analyses[trace_id] = analysis

    # -- reading (UI) ------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._order)

    def get(self, trace_id: str) -> TraceAnalysis | None:
        return self._analyses.get(trace_id)

    def seal(self) -> None:
        """No more spans will arrive (saved files read to their end): a trace whose root never came is finished
        as it is, named after its earliest span and given its duration, as `check` shows it."""
        self._analyzer.final = True
        with self._lock:
            waiting = [a.trace_id for a in self._analyses.values() if a.in_progress and not a.tree.roots]
        for trace_id in waiting:
            self._analyzer.forget(trace_id)
        analyses = [analysis for trace_id in waiting if (analysis := self._analyzer.get(trace_id)) is not None]
        for analysis in analyses:
            self.routes.update(analysis)
            evict_payloads(analysis)
        with self._lock:
            for analysis in analyses:
                if analysis.trace_id in self._analyses:
                    self._place(analysis)
            self.generation += 1

    def rows(
        self,
        quick_filter: str = "all",
        text: str = "",
        route: RouteFilter | None = None,
        order: SortOrder | None = None,
        service: str | None = None,
    ) -> Rows:
        """The traces to list, filtered by a quick filter, a text query, a route and a service, in `order` (by
        default `self.order`, which the list's sort keys set; newest first)."""
        with self._lock:
            ordered = [self._analyses[trace_id] for _, trace_id in self._order]
        services = sorted({a.service for a in ordered if a.service})
        order = order if order is not None else self.order
        service = service if service is not None else self.service
        if service is not None:
            ordered = [a for a in ordered if a.service == service]
        predicate = QUICK_FILTERS[quick_filter]
        if quick_filter != "all":
            ordered = [a for a in ordered if predicate(a)]
        if route is not None:
            ordered = [a for a in ordered if route.admits(a, self.routes)]
        if text:
            needle = text.lower()
            ordered = [a for a in ordered if matches(a, needle)]
        result = Rows(sort_rows(ordered, order))
        result.newest = ordered[0].trace_id if ordered else None
        result.services = tuple(services)
        return result

    @property
    def errors(self) -> list[ReadError]:
        return self.store.errors

    def counts(self) -> dict[str, int]:
        """Read by the status line ten times a second: kept as running totals, never recounted."""
        return {
            "traces": len(self._analyses),
            "spans": self.store.span_count,
            "findings": self._finding_count,
            "errors": len(self.store.errors),
            "evicted": self.store.evicted_traces,
        }


def _notable(analysis: TraceAnalysis) -> int:
    return sum(1 for finding in analysis.findings if finding.severity != "info")


def matches(analysis: TraceAnalysis, needle: str) -> bool:
    """Does a lower-cased query occur in the trace's name, id, route, models, tools or any attribute value?"""
    if needle in analysis.name.lower() or analysis.trace_id.startswith(needle):
        return True
    if any(needle in step.lower() for step in analysis.route):
        return True
    for span in analysis.tree.spans.values():
        if needle in span.name.lower() or (span.model and needle in span.model.lower()):
            return True
        for value in span.attributes.values():
            if isinstance(value, str) and needle in value.lower():
                return True
    return False
