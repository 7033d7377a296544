"""Loading that analyses as it goes and leaves each analysed trace's payloads in its file.

A headless command (`check`, `routes`, `diff`) needs every trace analysed, and the analysis is the only step
that reads prompts, outputs and messages in bulk (`eval` reads them all again, so it loads with `evict=False`). Analysing each chunk's traces as they arrive, then evicting
their spans' payloads (parsers/payloads.py), keeps one chunk of payload in memory instead of the whole file's: the
spans keep ids, times, names, models, tokens and stop reasons, and the payload is read back from the file by
whoever asks later (an evaluator, a report). A trace that continues in a later chunk is analysed again then, with
its earlier spans' payloads read back; the Analyzer's per-version cache keeps the final analysis of every other.
"""

from __future__ import annotations

from parsers.span import ReadError, Span

from .analysis import Analyzer, TraceAnalysis
from .store import SpanStore


def evict_payloads(analysis: TraceAnalysis) -> None:
    """Drop the payloads of an analysed trace's spans that can be read back from their file."""
    for span in analysis.tree.ordered:
        span.evict_payload()


class AnalysingSink:
    """A SpanSink (orchtui/loading.py) in front of a store: each batch is stored, its traces analysed, their
    payloads evicted."""

    def __init__(self, store: SpanStore, analyzer: Analyzer | None = None, evict: bool = True) -> None:
        self.store = store
        self.analyzer = analyzer if analyzer is not None else Analyzer(store)
        self.evict = evict  # False: analysed as it goes, payloads kept (a command that reads them all again)

    def add(self, spans: list[Span]) -> set[str]:
        changed = self.store.add(spans)
        for trace_id in changed:
            analysis = self.analyzer.get(trace_id)
            if analysis is not None and self.evict:
                evict_payloads(analysis)
        return changed

    def add_errors(self, errors: list[ReadError], skipped: dict[str, int] | None = None) -> None:
        self.store.add_errors(errors, skipped)

    def analyses(self) -> list[TraceAnalysis]:
        """Every trace analysed, oldest first (the order reports list them in)."""
        return sorted(self.analyzer.all(), key=lambda a: (a.start_ns or 0, a.trace_id))
