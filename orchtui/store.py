"""The span store: traces assembled from spans that arrive in any order, in any number of batches.

Sources (file readers, followers, the OTLP receiver) call `add` from any thread; readers (the CLI, the UI, the
evaluators) take consistent snapshots with `snapshot`. Each trace carries a version that changes whenever one of
its spans is added or replaced, so analysis results can be cached per (trace, version) and recomputed only for
traces that changed.

Memory is bounded by whole-trace eviction: past `max_spans`, the traces updated least recently go first, and the
number evicted is kept so the UI can show it. Evicting whole traces (never single spans) keeps every trace that is
shown internally consistent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from parsers.span import ReadError, Span


@dataclass(slots=True)
class TraceRecord:
    """The spans of one trace as stored, plus bookkeeping for change detection and eviction."""

    trace_id: str
    spans: dict[str, Span] = field(default_factory=dict)
    version: int = 0
    updated: int = 0  # store tick of the last change: eviction order
    duplicates: int = 0  # spans that arrived again with an id already present (the newer copy wins)
    shared: bool = False  # `spans` was handed to a snapshot: copy it before the next change (copy-on-write)

    def writable_spans(self) -> dict[str, Span]:
        if self.shared:
            self.spans = dict(self.spans)
            self.shared = False
        return self.spans

    def snapshot(self) -> "TraceSnapshot":
        """The trace as it is now. The analysis links spans by id through the record's own dict, so a trace
        analysed once holds one id index, not two; the record copies it if the trace changes afterwards."""
        self.shared = True
        return TraceSnapshot(self.trace_id, self.version, tuple(self.spans.values()), self.duplicates, self.spans)


@dataclass(frozen=True, slots=True)
class TraceSnapshot:
    """An immutable view of one trace at one version, safe to analyse off the ingest thread."""

    trace_id: str
    version: int
    spans: tuple[Span, ...]
    duplicates: int = 0
    by_id: dict[str, Span] | None = None  # `spans` by id, in the same order; never changed after the snapshot


class SpanStore:
    """Thread-safe trace assembly. `add` returns the ids of the traces it changed."""

    def __init__(self, max_spans: int | None = None) -> None:
        self._lock = threading.Lock()
        self._traces: dict[str, TraceRecord] = {}
        self._tick = 0
        self._span_count = 0
        self._max_spans = max_spans
        self.errors: list[ReadError] = []
        self.skipped: dict[str, int] = {}
        self.evicted_traces = 0
        self.evicted_spans = 0
        self._evicted_ids: list[str] = []

    # -- writing ---------------------------------------------------------------------------------------------------

    def add(self, spans: Iterable[Span]) -> set[str]:
        batch = spans if isinstance(spans, list) else list(spans)
        changed: set[str] = set()
        with self._lock:
            self._tick += 1
            tick = self._tick
            traces = self._traces
            for span in batch:
                record = traces.get(span.trace_id)
                if record is None:
                    record = traces[span.trace_id] = TraceRecord(span.trace_id)
                spans_by_id = record.writable_spans()
                previous = spans_by_id.get(span.span_id)
                if previous is None:
                    self._span_count += 1
                elif previous is not span:
                    record.duplicates += 1
                spans_by_id[span.span_id] = span
                if record.updated != tick:
                    record.updated = tick
                    record.version += 1
                    changed.add(span.trace_id)
            _share_parent_ids(batch, traces)
            if self._max_spans is not None and self._span_count > self._max_spans:
                self._evict(protect=changed)
        return changed

    def adopt(self, trace_id: str, spans: dict[str, Span], duplicates: int) -> int | None:
        """Take a whole trace assembled elsewhere (by id, in arrival order: a worker process's store), its dict
        kept as the record's own; its version here, or None, and nothing taken, when the store already holds
        spans of the trace."""
        with self._lock:
            if trace_id in self._traces:
                return None
            self._tick += 1
            record = self._traces[trace_id] = TraceRecord(trace_id, spans, 1, self._tick, duplicates, shared=True)
            self._span_count += len(record.spans)
            if self._max_spans is not None and self._span_count > self._max_spans:
                self._evict(protect={trace_id})
            return record.version

    def discard(self, trace_id: str) -> None:
        """Forget a trace that was handed on whole (a worker's store, orchtui/split_load.py); not counted as
        evicted."""
        with self._lock:
            record = self._traces.pop(trace_id, None)
            if record is not None:
                self._span_count -= len(record.spans)

    def add_errors(self, errors: Iterable[ReadError], skipped: dict[str, int] | None = None) -> None:
        with self._lock:
            self.errors.extend(errors)
            for what, count in (skipped or {}).items():
                self.skipped[what] = self.skipped.get(what, 0) + count

    def _evict(self, protect: set[str]) -> None:
        """Drop least recently updated traces until under the bound (never the ones just changed)."""
        assert self._max_spans is not None
        for record in sorted(self._traces.values(), key=lambda r: r.updated):
            if self._span_count <= self._max_spans:
                break
            if record.trace_id in protect:
                continue
            del self._traces[record.trace_id]
            self._evicted_ids.append(record.trace_id)
            self._span_count -= len(record.spans)
            self.evicted_traces += 1
            self.evicted_spans += len(record.spans)

    def take_evicted(self) -> list[str]:
        """Ids of the traces evicted since the last call, so views built on the store can drop them too."""
        with self._lock:
            evicted, self._evicted_ids = self._evicted_ids, []
        return evicted

    # -- reading ---------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._traces)

    @property
    def span_count(self) -> int:
        return self._span_count

    def trace_ids(self) -> list[str]:
        with self._lock:
            return list(self._traces)

    def version(self, trace_id: str) -> int | None:
        record = self._traces.get(trace_id)
        return None if record is None else record.version

    def snapshot(self, trace_id: str) -> TraceSnapshot | None:
        with self._lock:
            record = self._traces.get(trace_id)
            if record is None:
                return None
            return record.snapshot()

    def snapshots(self) -> list[TraceSnapshot]:
        with self._lock:
            return [record.snapshot() for record in self._traces.values()]


def _share_parent_ids(batch: list[Span], traces: dict[str, TraceRecord]) -> None:
    """A child's parent id is an equal copy of its parent's span id: point it at the parent's own string, so a
    million spans hold one copy of each id (a parent that arrives in a later batch leaves its children's copies)."""
    for span in batch:
        parent_id = span.parent_id
        if parent_id is not None:
            parent = traces[span.trace_id].spans.get(parent_id)
            if parent is not None:
                span.parent_id = parent.span_id
