"""`eval` evaluates each trace as it is analysed, while its payloads are in memory (orchtui/evaluating.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from orchtui import evaluating
from orchtui.evaluating import EvaluateAsAnalysed
from orchtui.evaluation import TraceEvaluation
from tests.conftest import DATA
from tests.orchtui.test_cli_check import run

COLLECTOR = str(DATA / "otlp/otel-demo-collector-file-exporter.jsonl")  # spans after their root: re-analysed


@dataclass
class Analysis:
    trace_id: str
    version: int
    name: str = "t"


def test_an_unchanged_trace_is_evaluated_once_and_a_changed_one_again():
    made = []

    def evaluate(analysis):
        made.append((analysis.trace_id, analysis.version))
        return f"{analysis.trace_id}@{analysis.version}"

    hook = EvaluateAsAnalysed(evaluate, wanted=lambda analysis: analysis.trace_id != "skipped")
    a, b = Analysis("a", 1), Analysis("b", 1)
    for analysis in (a, b, Analysis("skipped", 1)):
        hook(analysis)
    assert hook.results([a, Analysis("b", 2)]) == ["a@1", "b@2"]  # b changed after it was evaluated
    assert made == [("a", 1), ("b", 1), ("b", 2)]


def test_a_worker_hands_its_evaluation_over_with_the_analysis_it_was_made_of():
    worker = EvaluateAsAnalysed(lambda analysis: TraceEvaluation(analysis, None, []), lambda _: True)
    mine = EvaluateAsAnalysed(lambda analysis: pytest.fail("evaluated again here"), lambda _: True)
    a = Analysis("a", 1)
    worker(a)
    assert worker.hand_over(Analysis("a", 1)) is None  # not the analysis it was made of
    worker(a)
    evaluation = worker.hand_over(a)
    assert isinstance(evaluation, TraceEvaluation) and worker.hand_over(a) is None  # forgotten once handed over
    mine.take(a, evaluation)
    assert mine.results([a]) == [evaluation]


def test_a_failing_evaluation_is_raised_after_the_load_not_into_it():
    """Raised into the load, it would read as the file failing to load; it is raised by `results` instead, and
    nothing more is evaluated meanwhile."""
    calls = []

    def evaluate(analysis):
        calls.append(analysis.trace_id)
        raise ZeroDivisionError("boom")

    hook = EvaluateAsAnalysed(evaluate, wanted=lambda analysis: True)
    hook(Analysis("a", 1))
    hook(Analysis("b", 1))
    assert calls == ["a"]
    with pytest.raises(ZeroDivisionError):
        hook.results([Analysis("a", 1)])


def test_eval_results_equal_evaluating_after_the_load_on_a_collector_file():
    """The CLI's evaluations made while loading, against the same evaluators run on the final analyses with
    every payload in memory (the old way)."""
    from orchtui.analysing_sink import AnalysingSink
    from orchtui.evaluation import eval_document, evaluate_trace
    from orchtui.loading import load_paths
    from orchtui.store import SpanStore

    code, out, err = run("eval", "--json", COLLECTOR)
    assert code in (0, 1), err
    store = SpanStore()
    sink = AnalysingSink(store, evict=False)
    load_paths([COLLECTOR], sink)
    expected = eval_document([evaluate_trace(analysis) for analysis in sink.analyses()], store.errors)
    assert json.loads(out) == json.loads(json.dumps(expected))


def test_an_evaluator_bug_is_an_internal_error_not_a_file_that_failed(monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("orchtui.evaluation.evaluate_trace", broken)
    code, out, err = run("eval", COLLECTOR)
    assert code == 3 and "ZeroDivisionError" in err and "stopped" not in out + err


def test_trace_filter_evaluates_only_the_matching_trace(monkeypatch):
    evaluated = []
    real = evaluating.EvaluateAsAnalysed.__init__

    def spy(self, evaluate, wanted=None, sweep=False):
        def counting(analysis):
            evaluated.append(analysis.name)
            return evaluate(analysis)

        real(self, counting, wanted, sweep)

    monkeypatch.setattr(evaluating.EvaluateAsAnalysed, "__init__", spy)
    code, out, err = run("eval", "--json", "--trace", "policy_loop", str(DATA / "langgraph/langgraph-openinference.otlp.jsonl"))
    assert code == 1, err  # its loop fails LoopDetection
    assert {result["trace"] for result in json.loads(out)["results"]} == {"policy_loop"}
    assert evaluated == ["policy_loop"]


def test_with_a_judge_the_garbage_evaluations_leave_is_swept_during_a_bulk_load():
    """A bulk load pauses the collector; a judge's HTTP exchanges leave reference cycles (~32 KB each), which
    held 400 MB over 1,580 traces until the hook swept them every SWEEP_EVERY evaluations."""
    import weakref

    from orchtui.bulk import bulk_load

    class Cyclic:
        pass

    left: list[weakref.ref] = []

    def evaluate(analysis):
        garbage = Cyclic()
        garbage.me = garbage  # a cycle: only the collector frees it
        left.append(weakref.ref(garbage))
        return TraceEvaluation(analysis, None, [])

    with bulk_load():
        swept = EvaluateAsAnalysed(evaluate, sweep=True)
        for number in range(evaluating.SWEEP_EVERY):
            swept(Analysis(f"t{number}", 1))
        assert all(ref() is None for ref in left)
        left.clear()
        unswept = EvaluateAsAnalysed(evaluate)
        for number in range(evaluating.SWEEP_EVERY):
            unswept(Analysis(f"u{number}", 1))
        assert all(ref() is not None for ref in left)  # without a judge nothing is swept: it costs a pass
