"""TrajectoryJudge (design/evaluators.md §8.3): TrajectoryScore's LLM variant, agentevals' trajectory accuracy rubric.

An LLM-only evaluator: without a judge it is n/a, and on a judge error it stays n/a with `details.judge_error`
(there is no deterministic score to fall back on; TrajectoryScore is the deterministic counterpart). With a
reference (expected calls or messages, expected output) the rubric asks for semantic equivalence to it;
without one the judge infers the goal from the task and the final answer. `continuous=true` (the default) asks
for a score from 0 to 1, `false` for agentevals' boolean.

The trajectory shown is the terminal LLM call's conversation when the trace recorded messages (what agentevals
reads), else the tool calls with their results.
"""

from __future__ import annotations

from ..analysis.calls import canonical_json
from .judge import BINARY, SCORE, Consultation, Opinion, Steps, message_steps, refine, run_fields
from .reference import Reference
from .result import EvalResult, make_result
from .trajectory import Trajectory

NAME = "TrajectoryJudge"
OPTIONS = {"continuous": True, "threshold": 0.7, "judge": None}
# agentevals' TRAJECTORY_ACCURACY_PROMPT(_WITH_REFERENCE) rubric, in our words (reference/evaluators.md §2.3).
RUBRIC = (
    "Grade the accuracy of the agent's trajectory: the steps it took from the task to its final answer. An accurate "
    "trajectory makes logical sense from step to step, shows clear progression towards the goal, and is relatively "
    "efficient, though it need not be perfectly efficient"
)
WITHOUT_REFERENCE = RUBRIC + ". Work out the goal from the task and from the final answer."
WITH_REFERENCE = RUBRIC + ", and is semantically equivalent to the reference (the same kind of steps for the same purposes; order and wording may differ)."
SCALES = {True: " Score from 0 (inaccurate) to 1 (accurate).", False: " Score true when the trajectory is accurate, false when it is not."}


def run(trajectory: Trajectory, reference: Reference, *, continuous: bool, threshold: float, judge=None) -> EvalResult:
    result = make_result(NAME, None, threshold, "TrajectoryJudge: n/a — an LLM-only evaluator: give --judge-url (TrajectoryScore is its deterministic counterpart).")
    return refine(result, judge, lambda consultation: _opinion(consultation, trajectory, reference, continuous))


def _opinion(consultation: Consultation, trajectory: Trajectory, reference: Reference, continuous: bool) -> Opinion:
    """LLM mode: the judge's score is the score."""
    given = _reference_fields(reference)
    task = (WITH_REFERENCE if given else WITHOUT_REFERENCE) + SCALES[continuous]
    verdict = consultation.ask(task, {**run_fields(trajectory, _steps(trajectory)), **given}, SCORE if continuous else BINARY)
    against = "against the reference" if given else "reference-free"
    headline = f"Trajectory (judge, {against}) {verdict.score:.2f} — judge ({consultation.judge.model}): {verdict.reasoning}"
    return Opinion(verdict.score, verdict.score, "llm", headline)


def _reference_fields(reference: Reference) -> dict[str, Steps | str]:
    """The reference trajectory (expected calls, from expected_tool_calls or expected_messages) and answer, if any."""
    fields: dict[str, Steps | str] = {}
    expected = reference.expected_calls()
    if expected is not None:
        fields["reference_steps"] = Steps(tuple(f"{name}{canonical_json(args)}" if given else name for name, args, given in expected))
    if reference.expected_output is not None:
        fields["reference_answer"] = reference.expected_output
    return fields


def _steps(trajectory: Trajectory) -> Steps | None:
    """The terminal call's conversation and output when recorded, else None (the tool calls)."""
    terminal = trajectory.llm_calls[-1] if trajectory.llm_calls else None
    if terminal is None or not terminal.input_messages:
        return None
    return message_steps(terminal.input_messages + terminal.output_messages)
