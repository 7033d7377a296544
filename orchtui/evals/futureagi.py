"""profile="futureagi": FutureAGI's formulas for its four agent metrics, for teams comparing numbers.

FutureAGI ai-evaluation 1.1.0 (`fi.evals.metrics.agents`) scores TaskCompletion, StepEfficiency,
ToolSelectionAccuracy and TrajectoryScore with deterministic weighted heuristics over an AgentTrajectoryInput
(steps with tool calls, a task, a final and an expected result). This module re-implements those formulas from
their description (reference/evaluators.md §1.2–1.5, checked against the released package's behaviour), including
the behaviours our default profile deliberately fixes (design/evaluators.md §1.7): 1.0 for "no tool calls" even
when tools were required, redundancy divided by steps (it can go negative), a retry after a failure counted both as
redundant and as failed, 0.2 credit for "no criteria given", no renormalisation of the composite.

Numbers agree with FutureAGI to its own rounding (4 decimals). What differs is only the result's shape: an
EvalResult whose label is pass/fail by `score >= threshold` (FutureAGI's `passed`; threshold 0.5), whose
explanation names each term of the formula, and whose `details` keep FutureAGI's extra keys.

Input: FutureAGI's own data as given (`Trajectory.from_futureagi`), or steps derived from a trace: one step per
LLM call, holding the tool calls that ran after it and before the next LLM call (their results are the step's
observation, the call's text its thought); the last step is final when the terminal LLM call finished with `stop`
and requested no tools (design/evaluators.md §8.2 step 7). Without LLM calls each tool call is a step, and the last
is final when the run produced an answer without error. The reference supplies the task: required tools, max
steps, success criteria, the expected result (expected_output) and the expected trajectory's length
(optimal_steps, else the number of expected calls).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .reference import Reference
from .result import FAIL, PASS, EvalResult

VERSION = "futureagi-1.1.0"
EVALUATORS = ("TaskCompletion", "StepEfficiency", "ToolSelectionAccuracy", "TrajectoryScore")
OPTIONS: dict[str, dict[str, Any]] = {
    "TaskCompletion": {"threshold": 0.5, "outcome_match_threshold": 0.7},
    "StepEfficiency": {"threshold": 0.5, "expected_step_weight": 0.4, "redundancy_weight": 0.3, "failure_weight": 0.3},
    "ToolSelectionAccuracy": {"threshold": 0.5},
    "TrajectoryScore": {"threshold": 0.5, "completion_weight": 0.4, "efficiency_weight": 0.3, "tool_weight": 0.3},
}
# FutureAGI's keyword stop list (42 words).
STOP_WORDS = frozenset(
    "the a an is are was were be been being have has had do does did will would should could may might must and or "
    "but if then so that this it to of in for on with at by from as".split()
)
_WORD = re.compile(r"\b\w+\b")
_STEP_KEYS = {"step_number", "thought", "action", "tool_calls", "observation", "is_final", "timestamp_ms"}


# -- FutureAGI's data ------------------------------------------------------------------------------------------------

def plain(value: Any) -> Any:
    """Pydantic objects (FutureAGI's own AgentTrajectoryInput, AgentStep, ToolCall) as plain dicts and lists."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def is_agent_input(value: Any) -> bool:
    """Does this look like an AgentTrajectoryInput: a list of steps under `trajectory` (or `steps`) and a task?"""
    if hasattr(value, "model_dump") and not isinstance(value, dict):
        value = plain(value)
    if not isinstance(value, dict):
        return False
    steps = value.get("trajectory", value.get("steps"))
    if not isinstance(steps, list):
        return False
    if "task" in value:
        return True
    return bool(steps) and all(isinstance(step, dict) and step.keys() & _STEP_KEYS and "role" not in step for step in steps)


def normalise_input(data: Any) -> dict[str, Any]:
    """AgentTrajectoryInput as a dict with FutureAGI's defaults filled in (step numbers, success=True, ...)."""
    data = plain(data)
    if not isinstance(data, dict):
        raise ValueError(f"an AgentTrajectoryInput is a dict (or the pydantic object), not {type(data).__name__}")
    steps = data.get("trajectory", data.get("steps"))
    if not isinstance(steps, list):
        raise ValueError("an AgentTrajectoryInput needs `trajectory`: a list of steps")
    task = data.get("task") or {}
    if not isinstance(task, dict):
        raise ValueError("an AgentTrajectoryInput's `task` is a dict: description, required_tools, max_steps, success_criteria")
    normalised_steps = []
    for index, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            raise ValueError(f"step {index} of the AgentTrajectoryInput is not a dict")
        calls = []
        for call in step.get("tool_calls") or []:
            if not isinstance(call, dict) or "name" not in call:
                raise ValueError(f"a tool call of step {index} has no name")
            calls.append({
                "name": str(call["name"]),
                "arguments": call.get("arguments") if call.get("arguments") is not None else {},
                "result": call.get("result"),
                "success": bool(call.get("success", True)),
                "error": call.get("error"),
            })
        normalised_steps.append({
            "step_number": step.get("step_number", index),
            "thought": step.get("thought"),
            "action": step.get("action"),
            "tool_calls": calls,
            "observation": step.get("observation"),
            "is_final": bool(step.get("is_final", False)),
        })
    return {
        "trajectory": normalised_steps,
        "task": {
            "description": task.get("description") or "",
            "expected_outcome": task.get("expected_outcome"),
            "required_tools": task.get("required_tools"),
            "max_steps": task.get("max_steps"),
            "success_criteria": task.get("success_criteria"),
        },
        "expected_trajectory": data.get("expected_trajectory"),
        "final_result": data.get("final_result"),
        "expected_result": data.get("expected_result"),
        "available_tools": data.get("available_tools"),
    }


def reference_of(data: dict[str, Any]) -> dict[str, Any]:
    """The reference an AgentTrajectoryInput carries, for the default profile's evaluators."""
    from .trajectory import _text

    task = data["task"]
    reference: dict[str, Any] = {}
    if data.get("expected_result") is not None:
        reference["expected_output"] = _text(data["expected_result"])
    if task.get("required_tools") is not None:
        reference["required_tools"] = list(task["required_tools"])
    if task.get("max_steps") is not None:
        reference["max_steps"] = task["max_steps"]
    if task.get("success_criteria"):
        reference["success_criteria"] = list(task["success_criteria"])
    if data.get("expected_trajectory"):
        reference["optimal_steps"] = len(data["expected_trajectory"])
    if data.get("available_tools") is not None:
        reference["available_tools"] = list(data["available_tools"])
    if task.get("description"):
        reference["goal"] = task["description"]
    return reference


def steps_of(trajectory) -> list[dict[str, Any]]:
    """FutureAGI steps derived from a trace (see the module docstring)."""
    llms = trajectory.llm_calls
    calls = list(trajectory.tool_calls)
    if not llms:
        steps = [_step(i, None, [call]) for i, call in enumerate(calls, 1)]
        if not steps and trajectory.final_output:
            steps = [_step(1, None, [])]
        if steps:
            steps[-1]["is_final"] = bool(trajectory.final_output) and not trajectory.errored
        return steps
    groups: list[list] = [[] for _ in llms]
    starts = {span.span_id: span.start_ns for span in trajectory.analysis.llm_calls} if trajectory.analysis is not None else {}
    timed = [starts.get(llm.span_id) for llm in llms]
    if all(start is not None for start in timed) and all(call.start_ns is not None for call in calls):
        for call in calls:  # the last LLM call that started before the tool call ran asked for it
            owner = max((i for i, start in enumerate(timed) if start <= call.start_ns), default=0)
            groups[owner].append(call)
    else:  # transcripts and parts: each LLM call's requested tool calls, in order
        queue = iter(calls)
        for i, llm in enumerate(llms):
            groups[i] += [call for _, call in zip(llm.requested_tool_calls, queue)]
        groups[-1] += list(queue)
    steps = [_step(i, llm.output_text or None, group) for i, (llm, group) in enumerate(zip(llms, groups), 1)]
    terminal = llms[-1]
    steps[-1]["is_final"] = terminal.finish_reason == "stop" and not terminal.requested_tool_calls
    return steps


def _step(number: int, thought: str | None, calls: list) -> dict[str, Any]:
    results = [call.result for call in calls if call.result]
    return {
        "step_number": number,
        "thought": thought,
        "action": None,
        "tool_calls": [
            {"name": call.name, "arguments": call.args if call.args is not None else {}, "result": call.result,
             "success": call.status != "error", "error": call.error}
            for call in calls
        ],
        "observation": "\n".join(results) or None,
        "is_final": False,
    }


def to_input(trajectory, reference: Reference) -> dict[str, Any]:
    """The AgentTrajectoryInput the formulas read: FutureAGI's own data when the trajectory came from it, else
    derived from the trace; the reference's values (when given and not the data's own) take precedence."""
    from .trajectory import _text

    base = trajectory.agent_input
    if base is not None:
        data = {**base, "task": dict(base["task"])}
        if trajectory.final_output != (_text(base.get("final_result")) or None):  # the answer was replaced
            data["final_result"] = trajectory.final_output
    else:
        data = {
            "trajectory": steps_of(trajectory),
            "task": {"description": reference.goal or trajectory.user_input or "", "expected_outcome": None,
                     "required_tools": None, "max_steps": None, "success_criteria": None},
            "expected_trajectory": None,
            "final_result": trajectory.final_output,
            "expected_result": None,
            "available_tools": trajectory.available_tools,
        }
    task = data["task"]
    if reference.required_tools is not None:
        task["required_tools"] = list(reference.required_tools)
    if reference.max_steps is not None:
        task["max_steps"] = reference.max_steps
    if reference.success_criteria is not None:
        task["success_criteria"] = list(reference.success_criteria)
    expected_calls = reference.expected_calls()
    length = reference.optimal_steps if reference.optimal_steps is not None else (len(expected_calls) if expected_calls is not None else None)
    if length is not None and len(data.get("expected_trajectory") or []) != length:
        data["expected_trajectory"] = [{"description": f"expected step {i}"} for i in range(1, length + 1)]
    if reference.available_tools is not None:
        data["available_tools"] = list(reference.available_tools)
    if reference.expected_output is not None and reference.expected_output != _text(data.get("expected_result")):
        data["expected_result"] = reference.expected_output
    return data


# -- the formulas ----------------------------------------------------------------------------------------------------

def keywords(text: str) -> set[str]:
    return set(_WORD.findall(text.lower().strip())) - STOP_WORDS


def outcome_match(actual: Any, expected: Any, threshold: float = 0.7) -> tuple[bool, float]:
    """(match, similarity): equal 1.0; strings: case/space-insensitive equal 1.0, containment 0.9, else expected
    keyword recall (a match from `threshold`); anything else 0.0."""
    if actual is None or expected is None:
        return False, 0.0
    if actual == expected:
        return True, 1.0
    if isinstance(actual, str) and isinstance(expected, str):
        a, e = actual.lower().strip(), expected.lower().strip()
        if a == e:
            return True, 1.0
        if e in a or a in e:
            return True, 0.9
        wanted = keywords(expected)
        if wanted:
            overlap = len(keywords(actual) & wanted) / len(wanted)
            return overlap >= threshold, overlap
    return False, 0.0


def criteria_met(result: Any, steps: list[dict[str, Any]], criteria: list[str]) -> tuple[int, list[str]]:
    """A criterion is met when half of its keywords occur (as substrings) in the final result, or half in the
    steps' observations and thoughts; one without keywords is met."""
    result_text = str(result).lower() if result else ""
    seen = " ".join((step.get("observation") or "") + " " + (step.get("thought") or "") for step in steps).lower()
    met, unmet = 0, []
    for criterion in criteria:
        words = keywords(criterion)
        if not words:
            met += 1
        elif sum(w in result_text for w in words) / len(words) >= 0.5 or sum(w in seen for w in words) / len(words) >= 0.5:
            met += 1
        else:
            unmet.append(criterion)
    return met, unmet


def task_completion(data: dict[str, Any], outcome_match_threshold: float = 0.7) -> dict[str, Any]:
    steps = data["trajectory"]
    if not steps:
        return {"output": 0.0, "terms": ["empty trajectory: no steps taken"]}
    parts: list[float] = []
    terms = []
    has_final = any(step["is_final"] for step in steps)
    if has_final:
        parts.append(0.2)
        terms.append("0.2 final step reached")
    else:
        terms.append("0 no final step marked")
    if data.get("expected_result") is not None:
        match, similarity = outcome_match(data.get("final_result"), data["expected_result"], outcome_match_threshold)
        parts.append(0.5 * similarity)
        terms.append(f"0.5×outcome {similarity:.2f} ({'match' if match else 'mismatch'})")
    elif data.get("final_result") is not None:
        parts.append(0.3)
        terms.append("0.3 a result was produced (nothing to compare it with)")
    criteria = data["task"].get("success_criteria")
    if criteria:
        met, unmet = criteria_met(data.get("final_result"), steps, criteria)
        parts.append(0.3 * (met / len(criteria)))
        terms.append(f"0.3×criteria {met}/{len(criteria)}" + (f" (unmet: {'; '.join(unmet[:2])})" if unmet else ""))
    else:
        parts.append(0.2)
        terms.append("0.2 no criteria given")
    return {"output": round(min(1.0, sum(parts)), 4), "terms": terms, "has_final_step": has_final,
            "result_produced": data.get("final_result") is not None}


def step_efficiency(data: dict[str, Any], expected_step_weight: float = 0.4, redundancy_weight: float = 0.3,
                    failure_weight: float = 0.3) -> dict[str, Any]:
    steps = data["trajectory"]
    if not steps:
        return {"output": 0.0, "terms": ["empty trajectory"]}
    n = len(steps)
    details: dict[str, Any] = {"total_steps": n}
    expected = data.get("expected_trajectory")
    max_steps = data["task"].get("max_steps")
    if expected:
        ratio = min(1.0, len(expected) / n)
        length, length_term = ratio * expected_step_weight, f"{expected_step_weight:g}×min(1, {len(expected)} expected/{n} steps)"
        details.update(expected_steps=len(expected), step_ratio=round(ratio, 3))
    elif max_steps:
        ratio = min(1.0, max_steps / n)
        length, length_term = ratio * expected_step_weight, f"{expected_step_weight:g}×min(1, {max_steps} max/{n} steps)"
        details["max_steps"] = max_steps
    else:
        length = expected_step_weight * (1.0 if n <= 10 else 10 / n)
        length_term = f"{expected_step_weight:g}×{'1' if n <= 10 else f'10/{n}'} (no baseline: up to 10 steps)"
    seen: set[str] = set()
    redundant = 0
    for step in steps:
        for call in step["tool_calls"]:
            signature = f"{call['name']}:{json.dumps(call['arguments'], sort_keys=True, default=str)}"
            if signature in seen:
                redundant += 1
            else:
                seen.add(signature)
    redundancy = (1.0 - redundant / n) * redundancy_weight  # divided by steps, not calls (FutureAGI's rule)
    details["redundant_steps"] = redundant
    calls = [call for step in steps for call in step["tool_calls"]]
    failed = sum(1 for call in calls if not call["success"])
    failure = (1.0 - failed / len(calls) if calls else 1.0) * failure_weight
    details["failed_calls"] = failed
    terms = [f"{length_term} = {length:.4g}", f"{redundancy_weight:g}×(1 − {redundant} repeated calls/{n} steps) = {redundancy:.4g}",
             f"{failure_weight:g}×(1 − {failed} failed/{len(calls)} calls) = {failure:.4g}"]
    return {"output": round(length + redundancy + failure, 4), "terms": terms, "details": details}


def tool_selection_accuracy(data: dict[str, Any]) -> dict[str, Any]:
    calls = [call for step in data["trajectory"] for call in step["tool_calls"]]
    used = {call["name"] for call in calls}
    if not calls:
        return {"output": 1.0, "terms": ["no tool calls made (1.0 whatever was required)"]}
    required = data["task"].get("required_tools")
    available = data.get("available_tools")
    w_required = 0.4 if required else 0.0
    w_validity = 0.3 if available else 0.0
    w_success = 0.3
    total = w_required + w_validity + w_success
    w_required, w_validity, w_success = w_required / total, w_validity / total, w_success / total
    score = 0.0
    terms = []
    if required:
        wanted = set(required)
        coverage = len(used & wanted) / len(wanted)
        score += w_required * coverage
        missing = sorted(wanted - used)
        terms.append(f"{w_required:.4g}×required {len(used & wanted)}/{len(wanted)}" + (f" (missing: {', '.join(missing)})" if missing else ""))
    if available:
        invalid = sorted(used - set(available))
        score += w_validity * (1.0 - len(invalid) / len(used)) if invalid else w_validity
        terms.append(f"{w_validity:.4g}×valid {len(used) - len(invalid)}/{len(used)} tool names" + (f" (invalid: {', '.join(invalid)})" if invalid else ""))
    successful = sum(1 for call in calls if call["success"])
    score += w_success * (successful / len(calls))
    terms.append(f"{w_success:.4g}×success {successful}/{len(calls)} calls")
    return {"output": round(score, 4), "terms": terms, "tools_used": sorted(used), "total_calls": len(calls), "successful_calls": successful}


def trajectory_score(data: dict[str, Any], completion_weight: float = 0.4, efficiency_weight: float = 0.3, tool_weight: float = 0.3) -> dict[str, Any]:
    completion, efficiency, tools = task_completion(data), step_efficiency(data), tool_selection_accuracy(data)
    output = completion["output"] * completion_weight + efficiency["output"] * efficiency_weight + tools["output"] * tool_weight
    terms = [f"{completion_weight:g}×completion {completion['output']:.4g}", f"{efficiency_weight:g}×efficiency {efficiency['output']:.4g}",
             f"{tool_weight:g}×tool selection {tools['output']:.4g}"]
    return {
        "output": round(output, 4),
        "terms": terms,
        "component_scores": {"task_completion": completion["output"], "step_efficiency": efficiency["output"], "tool_selection": tools["output"]},
    }


# -- as an evaluator -------------------------------------------------------------------------------------------------

HEADLINES = {"TaskCompletion": "Task completion", "StepEfficiency": "Step efficiency", "ToolSelectionAccuracy": "Tool selection",
             "TrajectoryScore": "Trajectory"}


def run(name: str, trajectory, reference: Reference, *, threshold: float, **settings: Any) -> EvalResult:
    data = to_input(trajectory, reference)
    if name == "TaskCompletion":
        computed = task_completion(data, settings["outcome_match_threshold"])
    elif name == "StepEfficiency":
        computed = step_efficiency(data, settings["expected_step_weight"], settings["redundancy_weight"], settings["failure_weight"])
    elif name == "ToolSelectionAccuracy":
        computed = tool_selection_accuracy(data)
    else:
        computed = trajectory_score(data, settings["completion_weight"], settings["efficiency_weight"], settings["tool_weight"])
    score = computed.pop("output")
    terms = computed.pop("terms")
    passed = score >= threshold
    explanation = f"{HEADLINES[name]} {score:.4g} (FutureAGI 1.1.0 formula, profile futureagi) = " + " + ".join(terms) + "."
    components: dict[str, float | None] = {}
    if name == "TrajectoryScore":
        scores = computed["component_scores"]
        components = {"TaskCompletion": scores["task_completion"], "StepEfficiency": scores["step_efficiency"],
                      "ToolSelectionAccuracy": scores["tool_selection"]}
    details = {"profile": "futureagi", "steps": len(data["trajectory"]), **computed}
    return EvalResult(name, score, threshold, passed, PASS if passed else FAIL, explanation, [], components, details, version=VERSION)
