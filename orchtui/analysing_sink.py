"""Loading that analyses each trace as it completes and leaves its payloads in its file.

A headless command (`check`, `routes`, `diff`) needs every trace analysed, and the analysis is the only step
that reads prompts, outputs and messages in bulk (`eval` reads them all again: it evaluates each trace as it is
analysed, through `on_analysed`, before the payloads go).
Spans are exported as they end, so a trace's root comes last: when a batch brings a trace's ended root, the trace
is analysed and its spans' payloads evicted (parsers/payloads.py). Memory then holds the payloads of the traces
still arriving, not the whole file's; the spans keep ids, times, names, models, tokens and stop reasons, and the
payload is read back from the file by whoever asks later. A trace is analysed once, when it completes: a trace
spread over many lines of a collector file is not analysed (and its payloads read back) at every chunk. Traces
whose root never comes, and the rare span after its root, are analysed at the end (`analyses`, which then
evicts their payloads too), where the Analyzer's per-version cache keeps every analysis that is still current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from parsers.span import ReadError, Span

from .analysis import Analyzer, TraceAnalysis
from .store import SpanStore


def evict_payloads(analysis: TraceAnalysis) -> None:
    """Drop the payloads of an analysed trace's spans that can be read back from their file."""
    for span in analysis.tree.ordered:
        span.evict_payload()


class AnalysisHook(Protocol):
    """Work done on each analysis while its trace's payloads are still in memory (`eval`'s evaluators,
    orchtui/evaluating.py), also in a worker process, which hands what it made over with the trace."""

    def __call__(self, analysis: TraceAnalysis) -> object: ...

    def hand_over(self, analysis: TraceAnalysis) -> object | None:
        """What was made of `analysis` here, forgotten here: it goes to another process with the trace."""

    def take(self, analysis: TraceAnalysis, made: object) -> None:
        """What another process made of `analysis`."""


@dataclass(slots=True)
class AssembledTrace:
    """A trace read, assembled and analysed elsewhere (the other half of a file, orchtui/split_load.py)."""

    trace_id: str
    spans: dict[str, Span]  # by id, in arrival order
    duplicates: int
    analysis: TraceAnalysis | None  # None: its analysis failed there (a read error says so)
    made: object = None  # what the sink's AnalysisHook made of the analysis there (None: nothing)


def adopt_traces(
    traces: Iterable[AssembledTrace], store: SpanStore, analyzer: Analyzer, add: Callable[[list[Span]], object]
) -> list[TraceAnalysis]:
    """Put traces assembled elsewhere into `store` and their analyses into `analyzer`; a trace the store already
    holds spans of gets its spans through `add` instead (and is analysed again with all of them). The analyses
    taken, for a caller that lists them."""
    adopted = []
    for trace in traces:
        version = store.adopt(trace.trace_id, trace.spans, trace.duplicates)
        if version is None:
            add(list(trace.spans.values()))
            continue
        analyzer.adopt(trace.trace_id, trace.analysis, version)
        if trace.analysis is not None:
            adopted.append(trace.analysis)
    return adopted


class AnalysingSink:
    """A SpanSink (orchtui/loading.py) in front of a store: each batch is stored, and the traces it completes are
    analysed and their payloads evicted."""

    def __init__(
        self,
        store: SpanStore,
        analyzer: Analyzer | None = None,
        evict: bool = True,
        on_analysed: AnalysisHook | None = None,
    ) -> None:
        self.store = store
        self.analyzer = analyzer if analyzer is not None else Analyzer(store)
        self.evict = evict  # False: payloads kept and analysed at the end (the in-memory reference in tests)
        # Called with each analysis made here, before its payloads go back to the file: `eval` evaluates the trace
        # then, so it reads no payload back and holds no file's worth of them (orchtui/evaluating.py).
        self.on_analysed = on_analysed
        self._handed_on: dict[str, int] = {}  # trace id -> the version last given to `on_analysed`

    def add(self, spans: list[Span]) -> set[str]:
        changed = self.store.add(spans)
        if self.evict:
            for trace_id in {span.trace_id for span in spans if span.parent_id is None and span.end_ns is not None}:
                analysis = self.analyzer.get(trace_id)  # complete: its root ended
                if analysis is not None:
                    self._tell(analysis)
                    evict_payloads(analysis)
        return changed

    def _tell(self, analysis: TraceAnalysis) -> None:
        if self.on_analysed is not None and self._handed_on.get(analysis.trace_id) != analysis.version:
            self._handed_on[analysis.trace_id] = analysis.version
            self.on_analysed(analysis)

    def add_errors(self, errors: list[ReadError], skipped: dict[str, int] | None = None) -> None:
        self.store.add_errors(errors, skipped)

    def adopt(self, traces: Iterable[AssembledTrace]) -> None:
        """Take traces assembled and analysed elsewhere, after everything read here: a trace this store has not
        seen is taken with its analysis; one that also has spans here gets them added, and is analysed again
        with all of them (its payloads read back from the file)."""
        traces = list(traces)
        adopted = {id(analysis) for analysis in adopt_traces(traces, self.store, self.analyzer, self.add)}
        if self.on_analysed is None:
            return
        for trace in traces:  # the hook ran on these where they were analysed: what it made comes with them
            if trace.analysis is not None and id(trace.analysis) in adopted:
                self._handed_on[trace.trace_id] = trace.analysis.version
                if trace.made is not None:
                    self.on_analysed.take(trace.analysis, trace.made)

    def analyses(self) -> list[TraceAnalysis]:
        """Every trace analysed, oldest first (the order reports list them in); now the payloads of the traces
        that never completed go back to the file too."""
        analyses = sorted(self.analyzer.all(), key=lambda a: (a.start_ns or 0, a.trace_id))
        for analysis in analyses:
            self._tell(analysis)
            if self.evict:
                evict_payloads(analysis)
        return analyses
