"""StepEfficiency (design/evaluators.md §8.4): length against a reference or budget, redundancy, errors.

A call is redundant only when an earlier call with the same signature already finished ok; a repeat after an
error is recovery (FutureAGI counts it as waste). No arbitrary "10 steps" rule (FutureAGI's): without a reference or
budget, the run's own distinct calls are its optimum, `k = n - redundant`, so length is `1 - redundant/n`. A loop is
then too long as well as repetitive, and cannot pass on its errors score alone: with length left out (§8.4 as first
written), 3 redundant calls of 4 scored 0.62 and 4 of 5 scored 0.60, both passes at 0.6.

A run with no tool calls (the unit) has nothing to judge: n/a, unless the reference expects none (then 1.0). 1.0 for
an empty run was the FutureAGI "no data is perfect" default §8.0 rules out.
"""

from __future__ import annotations

from ..analysis.efficiency import redundant_calls
from ..analysis.findings import WARN, Finding
from .judge import Consultation, Opinion, message_steps, refine, run_fields
from .reference import Reference
from .result import EvalResult, make_result
from .trajectory import Trajectory

NAME = "StepEfficiency"
OPTIONS = {"unit": "tool_calls", "weights": {"length": 0.4, "redundancy": 0.3, "errors": 0.3}, "threshold": 0.6, "judge": None}
# deepeval's StepEfficiency rubric, in our words (reference/evaluators.md §3.3).
JUDGE_TASK = (
    "Audit the efficiency of the agent's steps towards the task. Judge only whether each step was needed, not "
    "whether the answer is correct; when in doubt, assume a step was unnecessary. Score 1.0 when every step was "
    "necessary; 0.75 when one small step was redundant or avoidable; 0.5 for noticeable inefficiency (several "
    "extra or repeated steps); 0.25 for multiple unjustified actions; 0.0 when most steps were unnecessary. The "
    "deterministic check's verdict is given for context."
)


def run(trajectory: Trajectory, reference: Reference, *, unit: str, weights: dict[str, float], threshold: float, judge=None) -> EvalResult:
    if unit not in ("tool_calls", "llm_calls"):
        raise ValueError(f"StepEfficiency unit must be 'tool_calls' or 'llm_calls', not {unit!r}")
    calls = trajectory.tool_calls
    n = len(calls) if unit == "tool_calls" else len(trajectory.llm_calls)
    expected = reference.expected_calls()
    k = len(expected) if expected is not None else reference.optimal_steps
    budget = reference.max_steps
    findings: list[Finding] = []

    redundant = redundant_calls(calls)
    repeated = sum(len(f.evidence["span_ids"]) for f in redundant)
    if n == 0 and k != 0:
        what = "no tool calls" if unit == "tool_calls" else "no LLM calls"
        expected_text = f" ({k} expected: see TrajectoryMatch / ToolSelectionAccuracy)" if k else ""
        return make_result(
            NAME, None, threshold, f"Step efficiency: n/a — the run made {what}{expected_text}: no steps to judge.",
            components={"length": None, "redundancy": None, "errors": None},
        )
    length: float | None
    if k is not None:
        length = (1.0 if k == 0 else None) if n == 0 else (0.0 if k == 0 else min(1.0, k / n))
        length_text = f"{n} {unit.replace('_', ' ')} vs {k} expected (length {_fmt(length)})"
    elif budget is not None:
        length = 1.0 if n == 0 else min(1.0, budget / n)
        length_text = f"{n} {unit.replace('_', ' ')} vs a budget of {budget} (length {_fmt(length)})"
        if n > budget:
            findings.append(Finding("efficiency.over_budget", WARN, f"{n} steps exceed the budget of {budget}"))
    elif unit == "tool_calls":
        # No reference: the distinct calls are the optimum, so every redundant call makes the run that much too long.
        length = (n - repeated) / n
        length_text = (
            f"{n} tool calls, {n - repeated} distinct (length {_fmt(length)}; give optimal_steps, max_steps or "
            "expected calls to score length against a reference)"
        )
    else:
        length, length_text = None, f"{n} {unit.replace('_', ' ')} (length not scored: give optimal_steps, max_steps or expected calls)"

    findings += redundant
    redundancy = 1.0 - repeated / len(calls) if calls else 1.0
    failed = [call for call in calls if call.status == "error"]
    findings += [Finding("efficiency.tool_error", WARN, f"{call.describe()} failed", call.span_id) for call in failed]
    errors = 1.0 - len(failed) / len(calls) if calls else 1.0

    components = {"length": length, "redundancy": redundancy, "errors": errors}
    present = {name: value for name, value in components.items() if value is not None}
    total_weight = sum(weights[name] for name in present)
    score = sum(weights[name] * value for name, value in present.items()) / total_weight if total_weight else None
    detail = "; ".join(f.message for f in redundant) or "no redundant call"
    explanation = (
        f"Step efficiency {_fmt(score)} — {length_text}; {repeated} redundant call(s) (R {_fmt(redundancy)}) ({detail}); "
        f"{len(failed)} failed call(s) (E {_fmt(errors)})."
    )
    result = make_result(NAME, score, threshold, explanation, findings, components=components)
    return refine(result, judge, lambda consultation: _opinion(consultation, trajectory, unit, result))


def _opinion(consultation: Consultation, trajectory: Trajectory, unit: str, result: EvalResult) -> Opinion:
    """Hybrid: the min of the rubric score and the deterministic score, so the judge can find steps that were
    distinct yet unnecessary (which no signature check sees) but cannot excuse a repeat or a failure."""
    outputs = [message for call in trajectory.llm_calls for message in call.output_messages]
    steps = message_steps(outputs) if unit == "llm_calls" else None  # None: the tool calls
    verdict = consultation.ask(JUDGE_TASK, run_fields(trajectory, steps, result))
    score = verdict.score if result.score is None else min(verdict.score, result.score)
    headline = f"Step efficiency {score:.2f} = min(rubric {verdict.score:.2f}, deterministic {_fmt(result.score)}) — judge ({consultation.judge.model}): {verdict.reasoning}"
    return Opinion(score, verdict.score, "hybrid", headline)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
