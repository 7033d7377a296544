"""Retries: explicit markers, and calls repeated after an errored attempt.

No trace convention has a standard retry attribute (reference/formats.md §5.5). Explicit markers are used when a
producer gives them (LangChain `retry:attempt:N` tags and retry events, HTTP `resend_count`); otherwise a tool
call repeated with the same name and arguments right after that call errored, or an LLM call repeated under the
same parent after an errored one, is a retry. A repeat after a *successful* call is not a retry: it is redundancy
(efficiency.py).
"""

from __future__ import annotations

from parsers.span import ERROR, LLM, Span

from .calls import CALL_KINDS, canonical_json
from .findings import INFO, WARN, Finding

STORM_ATTEMPTS = 3  # a call needing this many attempts is a retry storm worth a warning


def retry_attempts(ordered: list[Span]) -> dict[str, int]:
    """span id -> attempt number (2 and up) for every span that is a retry."""
    attempts: dict[str, int] = {}
    last: dict[tuple, tuple[str, int]] = {}  # call key -> (status of the latest attempt, its attempt number)
    for span in ordered:
        if span.retry_attempt is not None and span.retry_attempt >= 2:
            attempts[span.span_id] = span.retry_attempt
        key = _call_key(span)
        if key is None:
            continue
        previous = last.get(key)
        attempt = 1
        if previous is not None and previous[0] == ERROR:
            attempt = previous[1] + 1
            attempts.setdefault(span.span_id, attempt)
        last[key] = (span.status, attempts.get(span.span_id, attempt))
    return attempts


def _call_key(span: Span) -> tuple | None:
    if span.kind in CALL_KINDS:
        return ("call", span.tool_name or span.name, canonical_json(span.tool_args))
    if span.kind == LLM:
        return ("llm", span.parent_id, span.name, span.model)
    return None


def retry_findings(ordered: list[Span], attempts: dict[str, int]) -> list[Finding]:
    by_id = {span.span_id: span for span in ordered}
    findings = []
    for span_id, attempt in attempts.items():
        span = by_id[span_id]
        storm = attempt >= STORM_ATTEMPTS
        outcome = "failed again" if span.status == ERROR else "succeeded" if span.end_ns is not None else "running"
        findings.append(
            Finding(
                "retry",
                WARN if storm else INFO,
                f"{span.tool_name or span.name} retried (attempt {attempt}, {outcome})"
                + (" — retry storm" if storm else ""),
                span_id,
                evidence={"attempt": attempt},
            )
        )
    return findings
