"""StopReason (design/evaluators.md §8.6): missing or abnormal stop reasons, per LLM call.

Shares the per-call rules with the analysis (analysis/stop_reasons.py), so the TUI's flags, `orchtui check` and
this evaluator can never disagree; adds the optional `expected_finish_reason` assertion and the score.
"""

from __future__ import annotations

from parsers.conventions import normalize_stop_reason

from ..analysis.findings import CRITICAL, WARN, Finding
from ..analysis.stop_reasons import call_findings, stop_reason_findings
from .reference import Reference
from .result import EvalResult, make_result
from .trajectory import Trajectory

NAME = "StopReason"
OPTIONS = {"expected_finish_reason": None, "threshold": 1.0}


def run(trajectory: Trajectory, reference: Reference, *, expected_finish_reason: str | None, threshold: float) -> EvalResult:
    calls = trajectory.llm_calls
    if not calls:
        return make_result(NAME, None, threshold, "Stop reason: n/a — the trace has no LLM calls.")
    last = calls[-1]
    analysis = trajectory.analysis
    if analysis is not None:  # span order says what ran after each call
        findings = stop_reason_findings(analysis.llm_calls, analysis.tree.ordered, trajectory.finished)
    else:  # without timings, only the final call can be left hanging
        findings = call_findings(calls, lambda call: call is not last, trajectory.finished)
    if expected_finish_reason is not None:
        raw = last.finish_reasons[0] if last.finish_reasons else ""
        wanted = expected_finish_reason.lower()
        if wanted not in (raw.lower(), normalize_stop_reason(raw)):
            findings.append(
                Finding("stop_reason.unexpected", CRITICAL, f"final LLM call finished with {raw or 'nothing'!r}, expected {expected_finish_reason!r}", last.span_id)
            )
    warned = {f.span_id for f in findings if f.severity == WARN}
    critical = [f for f in findings if f.severity == CRITICAL]
    score = 0.0 if critical else 1 - len(warned) / len(calls)
    verdict = "FAIL" if critical else ("OK" if score == 1 else "WARN")
    headline = critical[0].message if critical else (f"{len(warned)} of {len(calls)} LLM calls have a stop-reason warning" if warned else f"all {len(calls)} LLM calls stopped normally")
    bullets = "".join(f"\n- {f.severity} {f.code}: {f.message}" for f in findings if f.severity != "info")
    return make_result(NAME, score, threshold, f"Stop reason: {verdict} — {headline}{bullets}", findings, components={"calls": float(len(calls))})
