"""`orchtui eval` over a file without holding its payloads: each trace is evaluated when it is analysed.

The evaluators read every prompt, output and message of a trace. Loaded whole, a file's payloads cost ~2.7x its
size in memory (477 MB for a 174 MB file of 100k spans); evicted and read back for the evaluators, every line is
parsed twice. The load (orchtui/analysing_sink.py) analyses a trace as soon as it completes, so the evaluators
run right then, while its payloads are still in memory, and the payloads go back to the file after. A trace that
changes afterwards (a span after its root, a trace whose root never came) is evaluated again at the end, reading
what it needs back from the file. A big file's second part is read by a worker process (orchtui/split_load.py),
which evaluates its traces the same way and sends the evaluations with them: `eval` of 100k spans 9.1 s -> 6.2 s,
byte-identical output.
"""

from __future__ import annotations

from collections.abc import Callable

from .analysis import TraceAnalysis
from .bulk import sweep_young
from .evaluation import TraceEvaluation

# Evaluations between sweeps of the cyclic garbage they leave while a bulk load pauses the collector. Only asked for
# with a judge: its HTTP exchanges leave ~32 KB each (400 MB over 1,580 traces unswept), the evaluators alone next
# to nothing (5 objects over 50 traces), and a sweep walks everything made since the last one, parsing included
# (sweeping without a judge cost `eval` of 100k spans 10%).
SWEEP_EVERY = 32


class EvaluateAsAnalysed:
    """An AnalysisHook for AnalysingSink: keeps the evaluation of each wanted trace's latest analysis. A worker
    process reading part of the file (orchtui/split_load.py) runs a copy of it and hands its evaluations over
    with its traces, so the evaluators run on both cores."""

    def __init__(
        self,
        evaluate: Callable[[TraceAnalysis], TraceEvaluation],
        wanted: Callable[[TraceAnalysis], bool] | None = None,
        sweep: bool = False,
    ) -> None:
        self._evaluate = evaluate
        self._wanted = wanted or (lambda analysis: True)  # None: every trace
        self._sweep = sweep  # sweep the garbage evaluations leave (a judge's HTTP exchanges), every SWEEP_EVERY
        # trace id -> (the analysis evaluated, its evaluation): current while the analysis is the trace's final one
        self._made: dict[str, tuple[TraceAnalysis, TraceEvaluation]] = {}
        self._failure: Exception | None = None
        self._since_sweep = 0

    def __call__(self, analysis: TraceAnalysis) -> None:
        """Evaluate now. A failure is kept for `results`, not raised into the load (it would read as the file
        failing to load) and nothing more is evaluated."""
        if self._failure is not None or not self._wanted(analysis):
            return
        try:
            self._made[analysis.trace_id] = (analysis, self._evaluate(analysis))
        except Exception as exc:  # noqa: BLE001 - raised again by `results`, after the load
            self._failure = exc
        if self._sweep:
            self._since_sweep += 1
            if self._since_sweep >= SWEEP_EVERY:
                self._since_sweep = 0
                sweep_young()

    def hand_over(self, analysis: TraceAnalysis) -> TraceEvaluation | None:
        made = self._made.pop(analysis.trace_id, None)
        return made[1] if made is not None and made[0] is analysis else None

    def take(self, analysis: TraceAnalysis, made: object) -> None:
        if isinstance(made, TraceEvaluation):
            self._made[analysis.trace_id] = (analysis, made)

    def results(self, analyses: list[TraceAnalysis]) -> list[TraceEvaluation]:
        """The evaluations of `analyses` (the final ones, in report order): those made while loading of that very
        analysis, the others (a trace changed since, a worker's evaluation that failed) made now."""
        if self._failure is not None:
            raise self._failure
        return [self._current(analysis) for analysis in analyses]

    def _current(self, analysis: TraceAnalysis) -> TraceEvaluation:
        made = self._made.get(analysis.trace_id)
        if made is not None and made[0] is analysis:
            return made[1]
        return self._evaluate(analysis)
