"""The evaluator fail rate per route step: the definition on hand-made results, then real evaluations of the demo,
a gate route and a generated batch."""

from __future__ import annotations

from collections import Counter

from orchtui.analysis import Analyzer
from orchtui.analysis.findings import Finding
from orchtui.analysis.routes import RouteBook, trace_route
from orchtui.demo import demo_spans
from orchtui.evals.result import make_result
from orchtui.evaluation import TraceEvaluation, evaluate_trace
from orchtui.gate import load_gate
from orchtui.route_evals import step_fail_rates
from orchtui.store import SpanStore
from tests.orchtui.route_batches import generated_batch
from tests.spans import analyse, llm, span, tool


def lookup_run(trace: str, *, open_root: bool = False):
    """refund_request: llm > lookup_order x3 > llm, span ids `<trace>-llm1`, `-t0..2`, `-llm2`, root `<trace>-root`."""
    root = span("refund_request", None, span_id=f"{trace}-root", kind="agent", trace=trace, start=0, end=10_000_000)
    if open_root:
        root.end_ns = None
    spans = [root, llm(f"{trace}-root", trace=trace, span_id=f"{trace}-llm1", start=1000, end=2000)]
    spans += [tool("lookup_order", {"n": n}, f"{trace}-root", trace=trace, span_id=f"{trace}-t{n}", start=3000 + n * 1000, end=3500 + n * 1000) for n in range(3)]
    spans.append(llm(f"{trace}-root", trace=trace, span_id=f"{trace}-llm2", start=8000, end=9000))
    return analyse(*spans)


def failing(evaluator: str, *span_ids: str | None, score: float = 0.0):
    """A result of `evaluator` with one finding per span id (score 0: fails; 1: passes)."""
    findings = [Finding(f"{evaluator.lower()}.problem", "critical", "bad", span_id) for span_id in span_ids]
    return make_result(evaluator, score, 0.5, "explanation", findings)


def landed(rates) -> dict:
    """{path index or "trace": evaluator counts} for the places where something failed."""
    places = {rate.index: rate.evaluators for rate in rates.steps if rate.failed_traces}
    if rates.trace_level.failed_traces:
        places["trace"] = rates.trace_level.evaluators
    return places


def test_failures_land_on_the_collapsed_step_whose_span_they_name():
    first = TraceEvaluation(lookup_run("a"), None, [
        failing("LoopDetection", "a-t2"),  # the third lookup: still the one `lookup_order x3` step
        failing("StepEfficiency", "a-t0", "a-llm2"),  # two steps: counted at both
        failing("TaskCompletion", "a-root"),  # the root is the family, not a step: trace level
        failing("Faithfulness"),  # no finding at all: trace level
        failing("StopReason", "a-llm2", score=1.0),  # passed: never counted
        make_result("ToolSelectionAccuracy", None, 0.5, "n/a", [Finding("x", "warn", "m", "a-t1")]),  # n/a: never counted
    ])
    second = TraceEvaluation(lookup_run("b"), None, [failing("LoopDetection", "b-t0", "b-t1")])  # twice on one step: once
    running = TraceEvaluation(lookup_run("c", open_root=True), None, [failing("LoopDetection", "c-t0")])
    (rates,) = step_fail_rates([first, second, running]).values()
    assert rates.route_id == trace_route(first.analysis).route_id and rates.family == "refund_request"
    assert rates.path_text == "llm:gpt-4o-mini > lookup_order x3 > llm:gpt-4o-mini"
    assert rates.traces == 2  # the running trace is left out
    assert landed(rates) == {
        1: {"LoopDetection": 2, "StepEfficiency": 1},
        2: {"StepEfficiency": 1},
        "trace": {"Faithfulness": 1, "TaskCompletion": 1},
    }
    assert [(rate.failed_traces, rate.rate) for rate in rates.steps] == [(0, 0.0), (2, 1.0), (1, 0.5)]
    assert (rates.trace_level.failed_traces, rates.trace_level.rate) == (1, 0.5)
    assert rates.worst is rates.steps[1]


def test_to_json_shape():
    evaluation = TraceEvaluation(lookup_run("a"), None, [failing("LoopDetection", "a-t1"), failing("Faithfulness", None)])
    (rates,) = step_fail_rates([evaluation]).values()
    document = rates.to_json()
    assert document["route_id"] == rates.route_id and document["family"] == "refund_request" and document["traces"] == 1
    assert document["path_text"] == "llm:gpt-4o-mini > lookup_order x3 > llm:gpt-4o-mini"
    assert document["steps"][1] == {
        "index": 1, "key": "tool:lookup_order", "label": "lookup_order x3", "failed_traces": 1, "traces": 1, "rate": 1.0,
        "evaluators": {"LoopDetection": 1},
    }
    assert document["steps"][0]["failed_traces"] == 0 and document["steps"][0]["evaluators"] == {}
    assert document["trace_level"] == {
        "index": None, "key": None, "label": None, "failed_traces": 1, "traces": 1, "rate": 1.0, "evaluators": {"Faithfulness": 1},
    }


def test_nothing_failed_means_no_worst_step():
    (rates,) = step_fail_rates([TraceEvaluation(lookup_run("a"), None, [failing("LoopDetection", "a-t1", score=1.0)])]).values()
    assert rates.worst is None and all(rate.failed_traces == 0 for rate in [*rates.steps, rates.trace_level])
    assert step_fail_rates([]) == {}


def demo_analyses():
    store = SpanStore()
    store.add(demo_spans())
    return Analyzer(store).all()


def test_demo_evaluations_fail_on_the_steps_the_evaluators_point_at():
    analyses = demo_analyses()
    rates = step_fail_rates([evaluate_trace(analysis) for analysis in analyses])
    book = RouteBook()
    for analysis in analyses:
        book.update(analysis)
    assert set(rates) == {row.route_id for row in book.stats()}  # joins the routes rows by id
    by_family = {r.family: r for r in rates.values() if r.family != "refund_request"}
    loop = by_family["policy_research"]
    assert loop.path[5].key == "retriever:search_docs" and loop.path[10].key == "llm:gpt-4o-mini" and len(loop.path) == 11
    # StepEfficiency on the first redundant search, LoopDetection on the third identical one
    assert landed(loop) == {3: {"StepEfficiency": 1}, 5: {"LoopDetection": 1}, 10: {"StopReason": 1, "TaskCompletion": 1, "TrajectoryScore": 1}}
    assert loop.worst is loop.steps[3]  # the first repeated search: where the run first goes wrong
    assert landed(by_family["escalation_check"]) == {1: {"StopReason": 1, "TrajectoryScore": 1}}
    assert landed(by_family["summarize_contract"]) == {1: {"StopReason": 1, "TaskCompletion": 1, "TrajectoryScore": 1}}
    assert landed(by_family["triage_handoff"]) == {}  # its answer says only what the invoice lookup returned
    refunds = [r for r in rates.values() if r.family == "refund_request"]
    # the run that skipped the policy lookup invents the refund timeline: a claim no span supports
    assert sorted(map(str, (landed(r) for r in refunds))) == ["{'trace': {'Faithfulness': 1}}", "{}", "{}"]


def test_a_gate_routes_missing_call_is_a_trace_level_failure(tmp_path):
    gate = tmp_path / "gate.toml"
    gate.write_text(
        '[[route]]\nmatch = "refund_*"\nexpected_tool_calls = [{ name = "lookup_order" }, { name = "issue_refund" }, { name = "notify_customer" }]\n'
        'trajectory_mode = "superset"\nevaluators = ["TrajectoryMatch", "StopReason"]\n'
    )
    evaluations = [evaluate_trace(analysis, load_gate(gate)) for analysis in demo_analyses() if analysis.name == "refund_request"]
    rates = step_fail_rates(evaluations)
    assert len(rates) == 3  # the runs with the policy found, missed (a fallback model) and not looked up
    for route in rates.values():
        assert route.traces == 1 and landed(route) == {"trace": {"TrajectoryMatch": 1}}  # a call that never ran has no span


def test_a_generated_batch_fails_where_its_problems_were_put():
    """Truncated final answers fail StopReason on the route's last step; failed runs without one fail
    TaskCompletion at the trace level (the failure is the run's, not a step's)."""
    batch = generated_batch(7, traces=200)
    rates = step_fail_rates([evaluate_trace(analysis) for analysis, _ in batch])
    truncated, failed_runs, traces = Counter(), Counter(), Counter()
    for analysis, truth in batch:
        key = trace_route(analysis).route_id
        traces[key] += 1
        truncated[key] += truth.stop_problem
        failed_runs[key] += not truth.success and not truth.stop_problem
    assert sum(truncated.values()) and sum(failed_runs.values())
    for key, route in rates.items():
        assert route.traces == traces[key]
        assert route.steps[-1].evaluators.get("StopReason", 0) == truncated[key], route.path_text
        assert all("StopReason" not in rate.evaluators for rate in route.steps[:-1])
        assert route.trace_level.evaluators.get("TaskCompletion", 0) == failed_runs[key], route.path_text
