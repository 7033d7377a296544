"""StopReason (design/evaluators.md §8.6): missing or abnormal stop reasons, per LLM call.

Shares the per-call rules with the analysis (analysis/stop_reasons.py), so the TUI's flags, `orchtui check` and
this evaluator agree on what was recorded; adds the optional `expected_finish_reason` assertion and the score.

The verdict is on the run, not on what its exporter writes. The same run recorded by two producers must not pass
from one and fail from the other because one of them leaves things out:
- A call whose producer never records a finish reason (parsers/producers.py: the OpenAI Agents SDK's own export,
  traceAI's OpenAI instrumentor, ...) and whose reason the analysis could not infer from the run (a tool that ran
  after it means `tool_calls`, output tokens at the requested maximum mean `length`) is not judged: it is left out
  of the score and the explanation says how many calls that is, which producer, and whether the final call is one.
  When no call can be judged the result is n/a with that reason, not a pass on nothing.
- A final call that asked for tools is dangling only if the trace could show the tool running: from a producer that
  writes neither tool spans nor messages (Anthropic's SDK spans, metadata only), the loop's last tool may well have
  run (its recording says it did), so the call is not judged dangling and the explanation says why.
"""

from __future__ import annotations

from parsers.conventions import normalize_stop_reason
from parsers.producers import AGENTS_SDK_EXPORT, producer_for

from ..analysis.findings import CRITICAL, INFO, WARN, Finding
from ..analysis.stop_reasons import call_findings
from .reference import Reference
from .result import EvalResult, make_result
from .trajectory import LLMCall, Trajectory

NAME = "StopReason"
OPTIONS = {"expected_finish_reason": None, "threshold": 1.0}


def run(trajectory: Trajectory, reference: Reference, *, expected_finish_reason: str | None, threshold: float) -> EvalResult:
    calls = trajectory.llm_calls
    if not calls:
        return make_result(NAME, None, threshold, "Stop reason: n/a — the trace has no LLM calls.")
    last = calls[-1]
    analysis = trajectory.analysis
    if analysis is not None:  # span order says what ran after each call: the analysis's own findings, same rules
        findings = [f for f in analysis.findings if f.code.startswith("stop_reason.")]
    else:  # without timings, only the final call can be left hanging
        findings = call_findings(calls, lambda call: call is not last, trajectory.finished)
    # The analysis does not judge a final tool_calls stop dangling when the trace can show no tool running.
    notes = [f.message for f in findings if f.code == "stop_reason.tools_unseen"]
    unrecorded = [call for call in calls if _unrecorded(call)]
    if expected_finish_reason is not None and not _unrecorded(last):
        raw = last.finish_reasons[0] if last.finish_reasons else ""
        wanted = expected_finish_reason.lower()
        if wanted not in (raw.lower(), normalize_stop_reason(raw), last.finish_reason):
            findings.append(
                Finding("stop_reason.unexpected", CRITICAL, f"final LLM call finished with {raw or 'nothing'!r}, expected {expected_finish_reason!r}", last.span_id)
            )
    judged = len(calls) - len(unrecorded)
    producer = producer_name(trajectory, unrecorded[-1].span_id) if unrecorded else ""
    if unrecorded:
        final = ("" if unrecorded[-1] is not last else " (the final one)" if len(unrecorded) == 1 else " (the final one among them)")
        verb = "has" if len(unrecorded) == 1 else "have"
        notes.append(
            f"{len(unrecorded)} of {len(calls)} LLM calls{final} {verb} no finish reason because {producer} records "
            "none (and the run does not show one): not judged"
        )
    if judged == 0:
        return make_result(
            NAME, None, threshold,
            f"Stop reason: n/a — {producer} records no finish reasons, and none of the {len(calls)} LLM call(s) "
            "shows one in the run (no tool ran after it, no token limit reached).",
            findings, components={"calls": float(len(calls)), "judged": 0.0},
        )
    warned = {f.span_id for f in findings if f.severity == WARN}
    critical = [f for f in findings if f.severity == CRITICAL]
    score = 0.0 if critical else 1 - len(warned) / judged
    verdict = "FAIL" if critical else ("OK" if score == 1 else "WARN")
    with_reason = f"{judged} LLM calls with a finish reason" if unrecorded else f"{judged} LLM calls"
    if critical:
        headline = critical[0].message
    elif warned:
        headline = f"{len(warned)} of {with_reason} have a stop-reason warning"
    else:
        headline = f"all {with_reason} stopped normally"
    bullets = "".join(f"\n- {f.severity} {f.code}: {f.message}" for f in findings if f.severity != INFO)
    bullets += "".join(f"\n- {note}" for note in notes)
    return make_result(
        NAME, score, threshold, f"Stop reason: {verdict} — {headline}{bullets}", findings,
        components={"calls": float(len(calls)), "judged": float(judged)},
    )


def _unrecorded(call: LLMCall) -> bool:
    """No finish reason, from a producer that never records one, and none inferred from the run."""
    return call.finish_reason in (None, "missing") and not call.records_finish_reason and not call.failed


def producer_name(trajectory: Trajectory, span_id: str | None) -> str:
    """How explanations name the producer of an LLM call: its profile's label, else its instrumentation scope, else
    "this producer"."""
    if trajectory.analysis is not None:
        span = next((s for s in trajectory.analysis.llm_calls if s.span_id == span_id), None)
        if span is not None:
            profile = producer_for(span.scope)
            if profile is not None:
                return profile.label
            if span.scope:
                return f"its producer ({span.scope})"
            if not span.records_finish_reason:  # the only producer without a scope that records no finish reason
                return f"the {AGENTS_SDK_EXPORT.label}"
    return "this producer"
