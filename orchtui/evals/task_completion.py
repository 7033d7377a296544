"""TaskCompletion (design/evaluators.md §8.2): did the run end normally, and (when told what success is) succeed?

The termination gate is always computed: a crashed, truncated, filtered, paused or dangling run, or an empty answer,
scores 0 however good the text looks. Outcome and criteria only count when a reference gives them; otherwise the
explanation says correctness was not verified (never a silent 1.0 for a missing component).

An answer the producer never recorded is not an empty answer: when the run ended normally but no LLM call of the
trace has any recorded message and no final output was recorded either (the OpenAI Agents SDK's own export writes
usage only, Anthropic's SDK spans default to metadata only), completion cannot be judged and the result is n/a,
naming the reason. A run that visibly failed (crashed, truncated, dangling) still fails: that much is recorded.
"""

from __future__ import annotations

import re

from ..analysis.findings import CRITICAL, Finding, first_line
from .reference import Reference
from .judge import Consultation, Opinion, refine, run_fields
from .result import EvalResult, make_result
from .trajectory import Trajectory

NAME = "TaskCompletion"
OPTIONS = {"threshold": 0.7, "outcome_match_threshold": 0.7, "judge": None}
JUDGE_TASK = (
    "Did the agent complete the user's task? Judge only from the fields: the task, the steps the agent took (tool "
    "calls with their results), its final answer. Score 1 when the final answer fully accomplishes the task, 0 when "
    "it does not, in between for partial completion. The deterministic check's verdict is given for context."
)

# FutureAGI's keyword stop list (reference/evaluators.md §1.2).
STOP_WORDS = frozenset(
    "the a an is are was were be been being have has had do does did will would should could may might must and or "
    "but if then so that this it to of in for on with at by from as".split()
)
GATES = {
    "length": ("task.truncated", "the final answer was cut off by the token limit"),
    "content_filter": ("task.refused", "the final answer was blocked by a content filter"),
    "error": ("task.provider_error", "the final LLM call ended with a provider error"),
    "pause": ("task.paused", "the final LLM call paused mid-turn"),
}


def keywords(text: str) -> set[str]:
    return set(re.findall(r"\b\w+\b", text.lower())) - STOP_WORDS


def run(trajectory: Trajectory, reference: Reference, *, threshold: float, outcome_match_threshold: float, judge=None) -> EvalResult:
    findings: list[Finding] = []
    final = final_answer(trajectory)
    terminal = trajectory.llm_calls[-1] if trajectory.llm_calls else None
    if terminal is None and not final.strip():
        findings.append(Finding("task.no_steps", CRITICAL, "no LLM call and no final output"))
    if trajectory.errored:
        reason = first_line(trajectory.runtime_limit or trajectory.error_message or "error")
        findings.append(Finding("task.errored", CRITICAL, f"the run failed: {reason}"))
    if terminal is not None:
        if terminal.finish_reason in GATES:
            code, text = GATES[terminal.finish_reason]
            findings.append(Finding(code, CRITICAL, text, terminal.span_id))
        if _dangling(trajectory, terminal, final):
            findings.append(Finding("task.dangling_tool_call", CRITICAL, "the final LLM call asked for tools and nothing ran after it", terminal.span_id))
    unrecorded = None if findings else answer_unrecorded(trajectory)
    if unrecorded:
        explanation = f"Task completion: n/a — {unrecorded}; whether the task was completed cannot be judged."
        return make_result(NAME, None, threshold, explanation, components={"gate": None}, details={"verified": False, "unrecorded": True})
    if terminal is not None and not final.strip() and not any(f.code in ("task.dangling_tool_call", "task.errored") for f in findings):
        findings.append(Finding("task.empty_answer", CRITICAL, "the final answer is empty", terminal.span_id))
    gate = 0.0 if findings else 1.0

    components: dict[str, float | None] = {"gate": gate}
    parts = []
    if reference.expected_output is not None:
        match = outcome_match(final, reference.expected_output)
        components["outcome"] = match
        parts.append(f"answer {'matches' if match >= outcome_match_threshold else 'does not match'} the expected outcome ({match:.2f})")
    if reference.success_criteria:
        met = [c for c in reference.success_criteria if criterion_met(c, final, trajectory)]
        components["criteria"] = len(met) / len(reference.success_criteria)
        parts.append(f"criteria: {len(met)} of {len(reference.success_criteria)} met")
    verified = [v for k, v in components.items() if k != "gate" and v is not None]
    score = gate * (sum(verified) / len(verified)) if verified else gate
    if findings:
        how = findings[0].message
    else:
        reason = terminal.finish_reasons[0] if terminal is not None and terminal.finish_reasons else "none recorded"
        how = f"ended normally (finish_reason={reason}, {len(final)}-char answer)"
    if not verified:
        parts.append("correctness not verified — give expected_output or success_criteria")
    explanation = f"Task completion {score:.2f} — {how}; " + "; ".join(parts) + "." + "".join(f"\n- {f.code}: {f.message}" for f in findings)
    result = make_result(NAME, score, threshold, explanation, findings, components=components, details={"verified": bool(verified)})
    return refine(result, judge, lambda consultation: _opinion(consultation, trajectory, reference, result, gate))


def _opinion(consultation: Consultation, trajectory: Trajectory, reference: Reference, result: EvalResult, gate: float) -> Opinion:
    """Hybrid: score = gate x verdict, since a crashed or truncated run cannot be "complete" whatever the judge says;
    the deterministic check is shown to the judge (FutureAGI's augment pattern)."""
    fields = run_fields(trajectory, check=result)
    if reference.expected_output is not None:
        fields["expected_output"] = reference.expected_output
    verdict = consultation.ask(JUDGE_TASK, fields)
    score = gate * verdict.score
    headline = f"Task completion {score:.2f} — judge ({consultation.judge.model}) {verdict.score:.2f}: {verdict.reasoning}"
    return Opinion(score, verdict.score, "hybrid", headline)


def final_answer(trajectory: Trajectory) -> str:
    """The run's final answer: the trajectory's, else the plain text a producer recorded as the final LLM call's raw
    output without any output message (traceAI's LiteLLM instrumentor writes a streamed answer only there)."""
    if (trajectory.final_output or "").strip() or not trajectory.llm_calls or trajectory.llm_calls[-1].output_messages:
        return trajectory.final_output or ""
    raw = _raw_output(trajectory, trajectory.llm_calls[-1].span_id)
    return raw if raw.lstrip()[:1] not in ("{", "[") else (trajectory.final_output or "")


def answer_unrecorded(trajectory: Trajectory) -> str | None:
    """Why the final answer is missing because it was never recorded, or None (it was recorded, maybe empty).

    Unrecorded: no final output, and the final LLM call has no output at all: no output message (not even an empty
    assistant turn) and no raw output on its span. Either the producer records no message content (no LLM call of
    the trace has one), or it kept none for this call (traceAI's OpenAI instrumentor drops streamed responses). An
    empty answer is an assistant message without text: recorded, and a failure."""
    if final_answer(trajectory).strip() or not trajectory.llm_calls:
        return None
    terminal = trajectory.llm_calls[-1]
    if terminal.output_messages or _raw_output(trajectory, terminal.span_id).strip():
        return None
    from .stop_reason import producer_name

    who = producer_name(trajectory, terminal.span_id)
    if any(call.input_messages or call.output_messages for call in trajectory.llm_calls):
        return f"the final answer was not recorded: {who} kept no output for the final LLM call"
    return f"the final answer was not recorded: {who} records no message content (no LLM call of the trace has one)"


def _raw_output(trajectory: Trajectory, span_id: str | None) -> str:
    """The output value the call's span recorded ("" without a trace or without one)."""
    if trajectory.analysis is None:
        return ""
    span = next((s for s in reversed(trajectory.analysis.llm_calls) if s.span_id == span_id), None)
    return (span.output or "") if span is not None else ""


def _dangling(trajectory: Trajectory, terminal, final: str) -> bool:
    """The final call requested tools and the run stopped there (span order decides when there is a trace)."""
    if not terminal.requested_tool_calls or terminal.finish_reason == "length" or final.strip():
        return False
    if trajectory.analysis is not None:
        return any(f.code == "stop_reason.dangling_tool_call" for f in trajectory.analysis.findings)
    return True


def outcome_match(actual: str, expected: str) -> float:
    a, e = " ".join(actual.lower().split()), " ".join(expected.lower().split())
    if a == e:
        return 1.0
    if a and e and (a in e or e in a):
        return 0.9
    wanted = keywords(expected)
    return len(keywords(actual) & wanted) / len(wanted) if wanted else 0.0


def criterion_met(criterion: str, final: str, trajectory: Trajectory) -> bool:
    """Met when at least half of its keywords occur (as substrings) in the answer or in any tool result."""
    words = keywords(criterion)
    if not words:
        return True
    haystack = (final + " " + " ".join(c.result or "" for c in trajectory.tool_calls)).lower()
    return sum(1 for w in words if w in haystack) / len(words) >= 0.5
