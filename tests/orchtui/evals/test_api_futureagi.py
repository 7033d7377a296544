"""profile="futureagi" (orchtui/evals/futureagi.py): FutureAGI ai-evaluation 1.1.0's formulas for TaskCompletion,
StepEfficiency, ToolSelectionAccuracy and TrajectoryScore.

The cases are FutureAGI's own tests (python/tests/sdk/test_agents.py), transcribed; their tests assert bounds, the
exact values here are derived by hand from the formulas (reference/evaluators.md §1.2–1.5; comments show the sums).
The implementation was also compared with the released package's metrics on 12,000 random AgentTrajectoryInputs
(every value equal, to the last bit). Each behaviour our default profile deliberately fixes is recorded beside the
default's answer (design/evaluators.md §1.7)."""

from __future__ import annotations

import pytest

from orchtui.evals import StepEfficiency, TaskCompletion, ToolSelectionAccuracy, Trajectory, TrajectoryScore, evaluate, futureagi
from tests.conftest import DATA

LANGGRAPH = DATA / "langgraph/langgraph-openinference.otlp.jsonl"
FA = {"profile": "futureagi"}


def simple(n: int = 3, with_tools: bool = True, mark_final: bool = True) -> list[dict]:
    """FutureAGI's create_simple_trajectory helper."""
    return [
        {"step_number": i, "thought": f"Thinking about step {i}", "action": f"Action for step {i}",
         "tool_calls": [{"name": f"tool_{i}", "arguments": {"arg": f"value_{i}"}, "result": f"result_{i}", "success": True}] if with_tools else [],
         "observation": f"Observed result {i}", "is_final": i == n and mark_final}
        for i in range(1, n + 1)
    ]


def task(**fields) -> dict:
    return {"description": "Complete a simple task", **fields}


# -- FutureAGI's test cases, exact -----------------------------------------------------------------------------------

TASK_COMPLETION = [
    # final 0.2 + outcome 0.5×1.0 + no criteria 0.2
    ("successful completion", {"trajectory": simple(3), "task": task(), "final_result": "Task completed successfully",
                               "expected_result": "Task completed successfully"}, 0.9),
    # no final step 0 + a result 0.3 + no criteria 0.2
    ("no final step", {"trajectory": simple(3, mark_final=False), "task": task(), "final_result": "Some result"}, 0.5),
    ("empty trajectory", {"trajectory": [], "task": task()}, 0.0),
    # final 0.2 + result 0.3 + criteria 0.3×2/2: "Find file" half met by "file" in an observation, "Extract data" by
    # the result ("extract" is a substring of "extracted")
    ("success criteria", {"trajectory": simple(2)[:1] + [{**simple(2)[1], "observation": "Found the file and extracted data"}],
                          "task": task(success_criteria=["Find file", "Extract data"]), "final_result": "Data extracted: [1, 2, 3]"}, 0.8),
    # final 0.2 + outcome 0.5×0 ("5" shares no keyword with "4") + no criteria 0.2
    ("result mismatch", {"trajectory": simple(2), "task": task(description="Calculate 2+2"), "final_result": "5", "expected_result": "4"}, 0.4),
    # non-string results: equal 1.0, else 0.0
    ("structured result", {"trajectory": simple(1), "task": task(), "final_result": {"total": 4}, "expected_result": {"total": 4}}, 0.9),
]

STEP_EFFICIENCY = [
    ("efficient", {"trajectory": simple(3), "task": task(max_steps=5)}, 1.0),  # 0.4×min(1,5/3) + 0.3 + 0.3
    ("inefficient", {"trajectory": simple(10), "task": task(max_steps=3)}, 0.72),  # 0.4×3/10 + 0.3 + 0.3
    # 4 steps, 3 repeats of search{"query":"test"}: 0.4 (≤ 10 steps) + 0.3×(1 − 3/4) + 0.3
    ("redundant", {"trajectory": [{"step_number": i, "thought": "Thinking", "tool_calls": [{"name": "search", "arguments": {"query": "test"}, "result": "result"}],
                                   "is_final": i == 4} for i in range(1, 5)], "task": task()}, 0.775),
    # a retry after a failure: redundant (0.3×(1 − 1/2)) and failed (0.3×(1 − 1/2)) both — FutureAGI's double penalty
    ("failed then retried", {"trajectory": [{"step_number": 1, "tool_calls": [{"name": "tool1", "success": False, "error": "Failed"}]},
                                            {"step_number": 2, "tool_calls": [{"name": "tool1"}], "is_final": True}], "task": task()}, 0.7),
    ("empty trajectory", {"trajectory": [], "task": task()}, 0.0),
    ("twelve steps, no baseline", {"trajectory": simple(12), "task": task()}, 0.9333),  # 0.4×10/12 + 0.3 + 0.3
]

TOOL_SELECTION = [
    ("correct tools", {"trajectory": [{"step_number": 1, "tool_calls": [{"name": "search"}]}, {"step_number": 2, "tool_calls": [{"name": "read_file"}], "is_final": True}],
                       "task": task(required_tools=["search", "read_file"]), "available_tools": ["search", "read_file", "write_file"]}, 1.0),
    # weights 0.4 and 0.3 renormalised to 4/7 and 3/7: 4/7×1/2 + 3/7×1
    ("missing required", {"trajectory": [{"step_number": 1, "tool_calls": [{"name": "search"}], "is_final": True}],
                          "task": task(required_tools=["search", "write_file"])}, 0.7143),
    # validity and success at 1/2 each: 0.5×0 + 0.5×1
    ("invalid tool", {"trajectory": [{"step_number": 1, "tool_calls": [{"name": "invalid_tool"}], "is_final": True}],
                      "task": task(), "available_tools": ["search", "read"]}, 0.5),
    ("no tool calls", {"trajectory": simple(2, with_tools=False), "task": task()}, 1.0),
]

TRAJECTORY_SCORE = [
    # 0.4×0.9 + 0.3×1.0 + 0.3×1.0
    ("high quality", {"trajectory": simple(3), "task": task(max_steps=5, required_tools=["tool_1", "tool_2", "tool_3"]), "final_result": "Task done",
                      "expected_result": "Task done", "available_tools": ["tool_1", "tool_2", "tool_3", "tool_4"]}, 0.96, {}),
    # completion 0.2 + 0.2 = 0.4: 0.4×0.4 + 0.3 + 0.3
    ("component scores", {"trajectory": simple(2), "task": task()}, 0.76, {}),
    ("custom weights", {"trajectory": simple(2), "task": task()}, 0.64, {"completion_weight": 0.6, "efficiency_weight": 0.2, "tool_weight": 0.2}),
]


@pytest.mark.parametrize(("case", "data", "score"), TASK_COMPLETION, ids=[c[0] for c in TASK_COMPLETION])
def test_task_completion(case, data, score):
    result = TaskCompletion(profile="futureagi").evaluate(data)
    assert result.score == score and result.label == ("pass" if score >= 0.5 else "fail")
    assert result.threshold == 0.5 and result.version == "futureagi-1.1.0" and result.details["profile"] == "futureagi"


@pytest.mark.parametrize(("case", "data", "score"), STEP_EFFICIENCY, ids=[c[0] for c in STEP_EFFICIENCY])
def test_step_efficiency(case, data, score):
    assert StepEfficiency(profile="futureagi").evaluate(data).score == score


@pytest.mark.parametrize(("case", "data", "score"), TOOL_SELECTION, ids=[c[0] for c in TOOL_SELECTION])
def test_tool_selection_accuracy(case, data, score):
    assert ToolSelectionAccuracy(profile="futureagi").evaluate(data).score == score


@pytest.mark.parametrize(("case", "data", "score", "weights"), TRAJECTORY_SCORE, ids=[c[0] for c in TRAJECTORY_SCORE])
def test_trajectory_score(case, data, score, weights):
    result = TrajectoryScore(profile="futureagi", **weights).evaluate(data)
    assert result.score == score
    parts = result.details["component_scores"]
    assert set(parts) == {"task_completion", "step_efficiency", "tool_selection"}
    assert result.components == {"TaskCompletion": parts["task_completion"], "StepEfficiency": parts["step_efficiency"],
                                 "ToolSelectionAccuracy": parts["tool_selection"]}


def test_explanations_show_the_formula():
    data = TRAJECTORY_SCORE[0][1]
    assert TrajectoryScore(profile="futureagi").evaluate(data).explanation == (
        "Trajectory 0.96 (FutureAGI 1.1.0 formula, profile futureagi) = 0.4×completion 0.9 + 0.3×efficiency 1 + 0.3×tool selection 1.")
    assert TaskCompletion(profile="futureagi").evaluate(TASK_COMPLETION[4][1]).explanation == (
        "Task completion 0.4 (FutureAGI 1.1.0 formula, profile futureagi) = 0.2 final step reached + 0.5×outcome 0.00 (mismatch) + 0.2 no criteria given.")


# -- the behaviours the default profile fixes (design/evaluators.md §1.7), side by side ------------------------------

def test_deliberate_deviations_of_the_default_profile():
    # §1.7-1: nothing called though tools were required: FutureAGI 1.0, default 0.0
    lazy = {"trajectory": simple(1, with_tools=False), "task": task(required_tools=["search"]), "final_result": "x"}
    assert (ToolSelectionAccuracy(profile="futureagi").evaluate(lazy).score, ToolSelectionAccuracy().evaluate(lazy).score) == (1.0, 0.0)
    # §1.7-3: redundancy per step goes negative (1 step, 3 identical calls: 0.4 + 0.3×(1 − 2/1) + 0.3 = 0.4);
    # the default counts per call and stays in 0..1
    burst = {"trajectory": [{"step_number": 1, "tool_calls": [{"name": "search", "arguments": {"q": "a"}}] * 3, "is_final": True}], "task": task()}
    fa = StepEfficiency(profile="futureagi").evaluate(burst)
    assert fa.score == 0.4 and fa.details["details"]["redundant_steps"] == 2
    assert StepEfficiency().evaluate(burst).components["redundancy"] == pytest.approx(1 / 3)
    # §1.7-3: a retry after a failure is not redundant in the default profile (only the failure counts)
    retried = STEP_EFFICIENCY[3][1]
    default = StepEfficiency().evaluate(retried).components
    assert (default["redundancy"], default["errors"]) == (1.0, 0.5)
    # §1.7-4 / -5: a run that produced nothing still earns FutureAGI credit; the default's gate fails it
    nothing = {"trajectory": simple(1, mark_final=False), "task": task()}
    assert TaskCompletion(profile="futureagi").evaluate(nothing).score == 0.2
    assert TaskCompletion().evaluate(nothing).passed is not True  # no answer: never a pass by default
    assert TrajectoryScore(profile="futureagi").evaluate(nothing).score == 0.68  # 0.4×0.2 + 0.3 + 0.3: no renormalisation


# -- on traces: the steps FutureAGI would have been given ------------------------------------------------------------

def test_trace_steps_are_llm_calls_holding_the_tools_they_asked_for():
    runs = {t.name: t for t in Trajectory.from_file(LANGGRAPH)}
    steps = futureagi.steps_of(runs["vendor_exception"])
    assert [[c["name"] for c in s["tool_calls"]] for s in steps] == [["lookup_policy"], ["compliance_review"], []]
    assert [s["is_final"] for s in steps] == [False, False, True]
    assert steps[1]["tool_calls"][0]["arguments"] == {"amount": 25000, "vendor": "Acme"}
    assert steps[2]["thought"] == "Escalated: compliance review filed for Acme."
    loop = futureagi.steps_of(runs["policy_loop"])
    assert len(loop) == 5 and not loop[-1]["is_final"]  # the recursion limit cut the run: no final step

    expected = {  # TaskCompletion, StepEfficiency, ToolSelectionAccuracy, TrajectoryScore
        "vendor_exception": (0.7, 1.0, 1.0, 0.88),  # final 0.2 + result 0.3 + 0.2; 3 steps, nothing repeated
        "policy_loop": (0.2, 0.82, 1.0, 0.626),  # no final step, no result; 3 repeats over 5 steps: 0.4 + 0.3×0.4 + 0.3
        "flaky_tool": (0.2, 0.7, 0.0, 0.29),  # the only call failed: success rate 0
        "long_answer": (0.5, 1.0, 1.0, 0.8),  # finish reason `length`: not a final step, but a result
    }
    for name, scores in expected.items():
        got = tuple(evaluate(evaluator, runs[name], profile="futureagi").score
                    for evaluator in ("TaskCompletion", "StepEfficiency", "ToolSelectionAccuracy", "TrajectoryScore"))
        assert got == scores, name


def test_reference_supplies_the_task_on_traces():
    run = Trajectory.from_file(LANGGRAPH)[0]  # vendor_exception: lookup_policy, compliance_review
    required = ToolSelectionAccuracy(profile="futureagi").evaluate(run, required_tools=["lookup_policy", "issue_refund"], available_tools=["lookup_policy"])
    # weights 0.4, 0.3, 0.3 (all present): 0.4×1/2 + 0.3×1/2 (compliance_review not available) + 0.3×1
    assert required.score == 0.65
    budget = StepEfficiency(profile="futureagi").evaluate(run, max_steps=1)
    assert budget.score == 0.7333  # 0.4×1/3 + 0.3 + 0.3
    assert StepEfficiency(profile="futureagi").evaluate(run, expected=["lookup_policy"]).score == 0.7333  # 1 expected step
    verified = TaskCompletion(profile="futureagi").evaluate(run, expected="Escalated: compliance review filed for Acme.",
                                                            success_criteria=["compliance review filed"])
    assert verified.score == 1.0  # 0.2 + 0.5×1.0 + 0.3×1/1


def test_options_of_the_profile():
    data = STEP_EFFICIENCY[1][1]
    assert StepEfficiency(profile="futureagi", expected_step_weight=0.5, redundancy_weight=0.25, failure_weight=0.25).evaluate(data).score == 0.65
    high = TaskCompletion(profile="futureagi", threshold=0.95).evaluate(TASK_COMPLETION[0][1])
    assert (high.score, high.passed, high.label) == (0.9, False, "fail")
    with pytest.raises(ValueError, match="TaskCompletion has no option.*judge under profile 'futureagi'"):
        TaskCompletion(profile="futureagi", judge=None)
    with pytest.raises(ValueError, match="StepEfficiency has no option.*weights under profile 'futureagi'"):
        StepEfficiency(profile="futureagi", weights={})


def test_profiles_are_cached_apart():
    run = Trajectory.from_futureagi(TRAJECTORY_SCORE[1][1])
    default, fa = evaluate("TrajectoryScore", run), evaluate("TrajectoryScore", run, profile="futureagi")
    assert fa.score == 0.76 and default.version == "1" and fa.version == "futureagi-1.1.0"
    assert evaluate("TrajectoryScore", run, profile="futureagi") is fa
