"""TaskCompletion, StepEfficiency, LoopDetection, StopReason, TrajectoryScore and the evaluate() API."""

from __future__ import annotations

import pytest

from orchtui.evals import EVALUATORS, Trajectory, evaluate
from parsers.span import ERROR
from tests.spans import analyse, llm, root, span, tool


def parts(calls=(), llms=(), **extra) -> Trajectory:
    return Trajectory.from_parts(
        tool_calls=[{"name": n, "args": a, **rest} for n, a, *r in calls for rest in [r[0] if r else {}]],
        llm_calls=list(llms),
        **extra,
    )


# -- the API --------------------------------------------------------------------------------------------------------

def test_unknown_evaluator_option_or_reference_key_is_a_clear_error():
    trajectory = parts()
    with pytest.raises(ValueError, match="unknown evaluator 'Vibes'"):
        evaluate("Vibes", trajectory)
    with pytest.raises(ValueError, match="StepEfficiency has no option.*bogus"):
        evaluate("StepEfficiency", trajectory, bogus=1)
    with pytest.raises(ValueError, match="unknown reference key.*expected_tools"):
        evaluate("StepEfficiency", trajectory, reference={"expected_tools": []})
    assert set(EVALUATORS) == {
        "ToolSelectionAccuracy", "TaskCompletion", "TrajectoryMatch", "TrajectoryScore", "TrajectoryJudge", "StepEfficiency",
        "LoopDetection", "StopReason", "PromptInjection", "Faithfulness",
    }


# -- TaskCompletion (§8.2) ------------------------------------------------------------------------------------------

def test_task_completion_gate_passes_unverified_when_the_run_ended_normally():
    result = evaluate("TaskCompletion", parts(llms=[{"finish_reason": "stop", "output": "Refund issued."}], final_output="Refund issued."))
    assert result.score == 1.0 and result.label == "pass"
    assert "correctness not verified" in result.explanation and result.details["verified"] is False


@pytest.mark.parametrize(
    ("reason", "code"),
    [("length", "task.truncated"), ("content_filter", "task.refused"), ("error", "task.provider_error"), ("pause_turn", "task.paused")],
)
def test_task_completion_gate_fails_abnormal_endings(reason, code):
    result = evaluate("TaskCompletion", parts(llms=[{"finish_reason": reason, "output": "partial"}], final_output="partial"))
    assert result.score == 0.0 and result.label == "fail" and [f.code for f in result.findings] == [code]


def test_task_completion_gate_errored_dangling_empty_and_no_steps():
    errored = parts(llms=[{"finish_reason": "stop", "output": "x"}], final_output="x", errored=True, error_message="MaxTurnsExceeded")
    assert [f.code for f in evaluate("TaskCompletion", errored).findings] == ["task.errored"]
    dangling = parts(llms=[{"finish_reason": "tool_calls", "tool_calls": [{"name": "search", "args": {}}]}])
    assert [f.code for f in evaluate("TaskCompletion", dangling).findings] == ["task.dangling_tool_call"]
    empty = parts(llms=[{"finish_reason": "stop", "output": "   "}], final_output="  ")
    assert [f.code for f in evaluate("TaskCompletion", empty).findings] == ["task.empty_answer"]
    assert [f.code for f in evaluate("TaskCompletion", parts()).findings] == ["task.no_steps"]


def test_task_completion_outcome_match_rules():
    def score(final, expected):
        return evaluate("TaskCompletion", parts(llms=[{"finish_reason": "stop", "output": final}], final_output=final), reference={"expected_output": expected}).score

    assert score("Paris", " paris ") == 1.0  # normalised equality
    assert score("The capital is Paris.", "capital is paris") == 0.9  # containment
    assert score("Refund of $129 queued for order 8812", "order 8812 refund queued today") == pytest.approx(4 / 5)  # keyword recall
    assert score("nothing relevant", "the of and") == 0.0  # expected has only stop words


def test_task_completion_criteria_use_answer_and_tool_results():
    trajectory = parts(
        calls=[("lookup_order", {"id": 1}, {"result": "order 8812 lost in transit"})],
        llms=[{"finish_reason": "stop", "output": "I issued a refund."}],
        final_output="I issued a refund.",
    )
    result = evaluate("TaskCompletion", trajectory, reference={"success_criteria": ["refund issued", "order lost in transit", "apology given"]})
    assert result.components["criteria"] == pytest.approx(2 / 3) and result.score == pytest.approx(2 / 3)
    assert result.label == "warn"  # below 0.7 with no critical finding


# -- StepEfficiency (§8.4) ------------------------------------------------------------------------------------------

def test_step_efficiency_spec_example_shape():
    calls = [("search", {"q": "paris"}), ("search", {"q": "paris"}), ("read", {"id": 1}), ("read", {"id": 2}), ("write", {}), ("send", {})]
    result = evaluate("StepEfficiency", parts(calls), reference={"optimal_steps": 4})
    assert result.components == {"length": pytest.approx(4 / 6), "redundancy": pytest.approx(5 / 6), "errors": 1.0}
    assert result.score == pytest.approx(0.4 * 4 / 6 + 0.3 * 5 / 6 + 0.3)
    assert "6 tool calls vs 4 expected" in result.explanation and "1 redundant" in result.explanation


def test_a_retry_after_an_error_is_not_redundant_but_the_error_counts():
    """The retry is no redundant call and the run's two distinct calls are its own optimum (length 1.0): the
    error is counted once, in E (FutureAGI counted it twice)."""
    calls = [("fetch", {"u": 1}, {"status": "error"}), ("fetch", {"u": 1})]
    result = evaluate("StepEfficiency", parts(calls))
    assert result.components == {"length": 1.0, "redundancy": 1.0, "errors": 0.5}
    assert result.score == pytest.approx(0.4 + 0.3 + 0.3 * 0.5) and result.label == "pass"
    assert [f.code for f in result.findings] == ["efficiency.tool_error"]


def test_step_efficiency_length_edge_cases():
    assert evaluate("StepEfficiency", parts(), reference={"optimal_steps": 0}).components["length"] == 1.0
    assert evaluate("StepEfficiency", parts([("a", {})]), reference={"optimal_steps": 0}).components["length"] == 0.0
    assert evaluate("StepEfficiency", parts(), reference={"optimal_steps": 3}).components["length"] is None
    budget = evaluate("StepEfficiency", parts([("a", {"i": i}) for i in range(8)]), reference={"max_steps": 4})
    assert budget.components["length"] == 0.5 and "efficiency.over_budget" in [f.code for f in budget.findings]
    expected = evaluate("StepEfficiency", parts([("a", {}), ("b", {})]), reference={"expected_tool_calls": [{"name": "a"}]})
    assert expected.components["length"] == 0.5
    with pytest.raises(ValueError):
        evaluate("StepEfficiency", parts(), unit="spans")


# -- LoopDetection (§8.5, deepeval AgentLoopDetection) ---------------------------------------------------------------

def test_loop_spec_thresholds_one_warn_passes_at_080_critical_repetition_fails_at_060():
    warn = evaluate("LoopDetection", parts([("search", {"q": "x"})] * 3))
    assert warn.score == pytest.approx(0.80) and warn.label == "pass" and warn.findings[0].severity == "warn"
    critical = evaluate("LoopDetection", parts([("search", {"q": "x"})] * 6))
    assert critical.score == pytest.approx(0.60) and critical.label == "fail"


def test_deepeval_tool_repetition_key_differs_only_by_json_types():
    """deepeval AgentLoopDetection keys on str(v): 1 and "1" collide there; canonical JSON keeps them apart."""
    result = evaluate("LoopDetection", parts([("t", {"a": 1}), ("t", {"a": "1"}), ("t", {"a": 1})]))
    assert result.score == 1.0


def test_reasoning_stagnation_identical_outputs_score_065():
    thought = " ".join(f"checking inventory warehouse record {i} shipment pallet status carrier" for i in range(4))
    llms = [{"finish_reason": "stop", "output": thought}, {"finish_reason": "stop", "output": thought}]
    result = evaluate("LoopDetection", parts(llms=llms, final_output=thought))
    assert result.score == pytest.approx(0.65) and result.label == "fail"
    assert [f.code for f in result.findings] == ["loop.stagnation"]
    short = [{"finish_reason": "stop", "output": "same short text"}] * 2  # under 20 clean words: skipped
    assert evaluate("LoopDetection", parts(llms=short)).score == 1.0


def test_recursion_cycle_on_one_ancestry_path_scores_075_siblings_do_not():
    nested = analyse(
        root("planner"),
        span("plan", "root", kind="agent", span_id="p1", input='{"goal": "book"}'),
        span("plan", "p1", kind="agent", span_id="p2", input='{"goal": "book"}'),
        llm("p2"),
    )
    result = evaluate("LoopDetection", Trajectory.from_trace(nested))
    assert result.score == pytest.approx(0.75) and result.findings[0].code == "loop.recursion"
    siblings = analyse(
        root("planner"),
        span("plan", "root", kind="agent", span_id="s1", input='{"goal": "book"}'),
        span("plan", "root", kind="agent", span_id="s2", input='{"goal": "book"}'),
        llm("root"),
    )
    assert evaluate("LoopDetection", Trajectory.from_trace(siblings)).score == 1.0


def test_runtime_cap_and_detector_toggles():
    capped = analyse(root(status=ERROR, status_message="GraphRecursionError: Recursion limit of 25 reached"), llm())
    result = evaluate("LoopDetection", Trajectory.from_trace(capped))
    assert result.score == pytest.approx(0.60) and result.findings[0].code == "loop.runtime_limit"
    off = evaluate("LoopDetection", parts([("search", {"q": "x"})] * 6), detectors=("D4", "D5"))
    assert off.score == 1.0 and off.findings == []


# -- StopReason (§8.6) ----------------------------------------------------------------------------------------------

def test_stop_reason_score_counts_calls_with_warnings():
    llms = [{"finish_reason": None}, {"finish_reason": "length", "output": "cut"}, {"finish_reason": "stop", "output": "done"}]
    result = evaluate("StopReason", parts(llms=llms))
    assert result.score == pytest.approx(1 - 2 / 3) and result.label == "warn"
    assert evaluate("StopReason", parts()).label == "n/a"


def test_stop_reason_expected_finish_reason_assertion():
    trajectory = parts(llms=[{"finish_reason": "end_turn", "output": "hi"}])
    assert evaluate("StopReason", trajectory, expected_finish_reason="stop").score == 1.0  # normalised match
    assert evaluate("StopReason", trajectory, expected_finish_reason="END_TURN").score == 1.0  # raw, any case
    wrong = evaluate("StopReason", trajectory, expected_finish_reason="tool_calls")
    assert wrong.score == 0.0 and wrong.findings[-1].code == "stop_reason.unexpected"


def test_stop_reason_on_a_trace_reuses_span_order_for_dangling_calls():
    trace = analyse(root(), llm(finish=("tool_calls",), calls=[("lookup", {})]), tool("lookup", {}), llm(finish=("tool_calls",), calls=[("lookup", {})]))
    result = evaluate("StopReason", Trajectory.from_trace(trace))
    assert result.score == 0.0 and "stop_reason.dangling_tool_call" in [f.code for f in result.findings]


# -- TrajectoryScore (§8.3) -----------------------------------------------------------------------------------------

def test_trajectory_score_renormalises_over_present_components():
    trajectory = parts([("search", {"q": 1}), ("read", {"id": 2})], llms=[{"finish_reason": "stop", "output": "ok"}], final_output="ok")
    result = evaluate("TrajectoryScore", trajectory)
    assert result.components["ToolSelectionAccuracy"] is None  # no reference, no catalogue
    assert result.score == pytest.approx((0.4 * 1.0 + 0.3 * 1.0) / 0.7)
    assert "not scored" in result.explanation


def test_trajectory_score_is_capped_by_a_critical_loop():
    trajectory = parts([("search", {"q": "x"})] * 6, llms=[{"finish_reason": "stop", "output": "ok"}], final_output="ok")
    result = evaluate("TrajectoryScore", trajectory)
    assert result.score == pytest.approx(0.49) and "capped at 0.49 by LoopDetection" in result.explanation
    uncapped = evaluate("TrajectoryScore", trajectory, critical_cap=False)
    assert uncapped.score > 0.49
