"""Route limits over a batch of traces: validation, each limit's measure, and the reports of `orchtui eval`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from orchtui.batch_gate import limit_results, nearest_rank
from orchtui.demo import write_demo_file
from orchtui.evaluation import evaluate_trace
from orchtui.gate import GateError, load_gate
from parsers.span import Tokens
from tests.orchtui.test_cli_check import run
from tests.spans import analyse, llm, span, tool

LIMITS_GATE = """
[[route]]
match = "refund_*"
evaluators = ["LoopDetection", "StopReason"]
[route.limits]
{limits}

[[route]]
match = "never_run"
evaluators = ["StopReason"]
[route.limits]
min_pass_rate = 0.5
"""


def gate(tmp_path, limits: str):
    path = tmp_path / "gate.toml"
    path.write_text(LIMITS_GATE.format(limits=limits))
    return path


def run_trace(trace: str, duration_ms: float, *, loop: bool = False, finish: str = "stop", model: str = "gpt-4o-mini"):
    """A refund_request run of the given length; `loop` repeats a lookup 8 times with the same arguments."""
    end = int(duration_ms * 1e6)
    spans = [span("refund_request", None, span_id="root", kind="agent", trace=trace, start=0, end=end)]
    for index in range(8 if loop else 1):
        spans.append(tool("lookup_policy", {"q": "refunds"}, trace=trace, start=1000 + index * 10, end=1005 + index * 10))
    spans.append(llm(trace=trace, finish=(finish,), model=model, tokens=Tokens(prompt=1000, completion=100, total=1100), start=5000, end=6000))
    return analyse(*spans)


def results_for(path, analyses):
    routes = load_gate(path)
    evaluations = [evaluate_trace(a, routes) for a in analyses]
    return {(r.route.match, r.limit): r for r in limit_results(routes, evaluations)}


def test_nearest_rank_returns_observed_values():
    values = [float(v) for v in range(1, 21)]
    assert nearest_rank(values, 95) == 19.0
    assert nearest_rank(values, 50) == 10.0
    assert nearest_rank([7.0], 99) == 7.0


def test_each_limit_is_measured_over_the_routes_traces(tmp_path):
    path = gate(tmp_path, "min_pass_rate = 0.9\nmax_p95_ms = 2500\nmax_cost_usd_per_trace = 0.01\nmax_loop_rate = 0.2")
    analyses = [run_trace(f"t{i}", 1000 + i * 100) for i in range(8)]
    analyses += [run_trace("t8", 3000, loop=True), run_trace("t9", 1500, finish="length")]
    results = results_for(path, analyses)

    pass_rate = results[("refund_*", "min_pass_rate")]
    assert pass_rate.value == pytest.approx(0.8) and pass_rate.passed is False and pass_rate.traces == 10
    assert "8 of 10 traces passed every evaluator" in pass_rate.explanation
    assert "pass rate 80% < minimum 90%" not in pass_rate.explanation  # 0.8 is shown with a decimal
    assert "pass rate 80.0% < minimum 90.0%" in pass_rate.explanation

    p95 = results[("refund_*", "max_p95_ms")]
    assert p95.value == 3000.0 and p95.passed is False  # nearest rank: the 10th of 10 sorted durations
    assert "slowest 3.00 s" in p95.explanation

    cost = results[("refund_*", "max_cost_usd_per_trace")]
    assert cost.value is not None and 0 < cost.value <= 0.01 and cost.passed is True

    loops = results[("refund_*", "max_loop_rate")]
    assert loops.value == pytest.approx(0.1) and loops.passed is True
    assert "1 of 10 traces looped" in loops.explanation


def test_each_limit_also_goes_the_other_way_on_the_same_batch(tmp_path):
    """The converse of the test above: the limits that passed there fail here and the failed ones pass."""
    path = gate(tmp_path, "min_pass_rate = 0.75\nmax_p95_ms = 3000\nmax_cost_usd_per_trace = 0.00001\nmax_loop_rate = 0.05")
    analyses = [run_trace(f"t{i}", 1000 + i * 100) for i in range(8)]
    analyses += [run_trace("t8", 3000, loop=True), run_trace("t9", 1500, finish="length")]
    results = results_for(path, analyses)
    assert results[("refund_*", "min_pass_rate")].passed is True  # 80% >= 75%
    assert results[("refund_*", "max_p95_ms")].passed is True  # 3.00 s <= 3.00 s: the bound is inclusive
    cost = results[("refund_*", "max_cost_usd_per_trace")]
    assert cost.passed is False and "> maximum $0.0000" in cost.explanation
    loops = results[("refund_*", "max_loop_rate")]
    assert loops.passed is False and "loop rate 10.0% > maximum 5.0%" in loops.explanation


def test_a_route_no_trace_matched_is_not_a_pass(tmp_path):
    path = gate(tmp_path, "max_loop_rate = 0.5")
    result = results_for(path, [run_trace("t1", 1000)])[("never_run", "min_pass_rate")]
    assert result.passed is None and result.label == "n/a" and result.traces == 0
    assert "no finished trace matched" in result.explanation


def test_unpriced_traces_make_the_cost_limit_not_measurable(tmp_path):
    path = gate(tmp_path, "max_cost_usd_per_trace = 0.01")
    unpriced = run_trace("t1", 1000, model="in-house-model-7")
    assert unpriced.cost_usd is None
    result = results_for(path, [unpriced])[("refund_*", "max_cost_usd_per_trace")]
    assert result.passed is None and "no trace has a priced model call" in result.explanation


def test_in_progress_traces_are_left_out(tmp_path):
    path = gate(tmp_path, "max_loop_rate = 0.5")
    open_root = span("refund_request", None, span_id="root", kind="agent", trace="live", start=0)
    open_root.end_ns = None  # the run has not ended yet
    running = analyse(open_root)
    assert running.in_progress
    assert results_for(path, [running])[("refund_*", "max_loop_rate")].traces == 0


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ("min_pass_rate = 1.5", "limit min_pass_rate must be 0..1, got 1.5"),
        ("max_loop_rate = -0.1", "limit max_loop_rate must be 0..1"),
        ("max_p95_ms = true", "limit max_p95_ms must be a number >= 0"),
        ('max_cost_usd_per_trace = "cheap"', "must be a number >= 0"),
        ("max_latency = 3", "unknown limit(s) max_latency; allowed: min_pass_rate"),
    ],
)
def test_bad_limits_are_rejected_with_the_route_named(tmp_path, limits, message):
    with pytest.raises(GateError) as error:
        load_gate(gate(tmp_path, limits))
    assert message in str(error.value) and "route 1 (refund_*)" in str(error.value)


def test_eval_reports_limits_in_table_json_and_junit_and_fails_on_a_breach(tmp_path):
    demo = tmp_path / "demo.jsonl"
    write_demo_file(demo)
    path = gate(tmp_path, "min_pass_rate = 1.0\nmax_p95_ms = 1000")  # the demo's refund runs take ~3.5 s
    junit = tmp_path / "report.xml"

    code, out, _ = run("eval", str(demo), "--spec", str(path), "--junit", str(junit))
    assert code == 1
    assert "route limits" in out and "p95 latency" in out and "> maximum 1.00 s" in out

    code, out, _ = run("eval", str(demo), "--spec", str(path), "--json")
    limits = {(r["route"], r["limit"]): r for r in json.loads(out)["route_limits"]}
    assert set(limits) == {("refund_*", "min_pass_rate"), ("refund_*", "max_p95_ms"), ("never_run", "min_pass_rate")}
    assert limits[("refund_*", "min_pass_rate")] | {"explanation": None} == {
        "route": "refund_*", "limit": "min_pass_rate", "threshold": 1.0, "value": 1.0, "traces": 3,
        "passed": True, "label": "pass", "explanation": None,
    }
    assert limits[("refund_*", "max_p95_ms")]["passed"] is False
    assert limits[("never_run", "min_pass_rate")]["label"] == "n/a"
    assert code == 1

    suites = ElementTree.parse(junit).getroot().findall("testsuite")
    limit_suite = next(s for s in suites if s.get("name") == "orchtui route limits")
    cases = {(c.get("classname"), c.get("name")): c for c in limit_suite.findall("testcase")}
    assert cases[("route refund_*", "max_p95_ms")].find("failure") is not None
    assert cases[("route never_run", "min_pass_rate")].find("skipped") is not None
    assert limit_suite.get("tests") == "3" and limit_suite.get("failures") == "1"


def test_eval_passes_when_every_route_keeps_its_limits(tmp_path):
    demo = tmp_path / "demo.jsonl"
    write_demo_file(demo)
    path = tmp_path / "gate.toml"
    path.write_text('[[route]]\nmatch = "refund_*"\nevaluators = ["LoopDetection"]\n[route.limits]\nmax_p95_ms = 10000\nmax_loop_rate = 0\n')
    code, out, _ = run("eval", str(demo), "--spec", str(path), "--trace", "refund_request")
    assert "pass  p95 latency" in out and code == 0
