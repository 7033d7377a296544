"""Failed model calls and the gateway fallbacks that hide them.

A provider that answers 500 leaves an LLM span with an error status and no finish reason. That is a failed call
(`llm.error`), not a missing stop reason: critical when nothing after it succeeded, a warning when a later call
did. When the very next call succeeded on another model or provider, a router (LiteLLM's fallbacks,
pydantic-ai's FallbackModel, a gateway) switched routes: `route.fallback` names both, since the run now depends
on a model nobody chose for it and costs what that model costs.
"""

from __future__ import annotations

from parsers.span import ERROR, Span

from .findings import CRITICAL, WARN, Finding, error_text, first_line
from .model_calls import models_agree


def llm_error_findings(llms: list[Span]) -> list[Finding]:
    findings: list[Finding] = []
    for index, call in enumerate(llms):
        if call.status != ERROR:
            continue
        # A failed attempt can be nested in the call that then succeeded (pydantic-ai's FallbackModel): what came
        # after it is whatever ended after it.
        later = sorted((other for other in llms if other is not call and _ends_after(other, call)), key=_end)
        recovered = any(_succeeded(other) for other in later)
        detail = first_line(error_text(call)) or "failed"
        findings.append(
            Finding(
                "llm.error",
                WARN if recovered else CRITICAL,
                f"LLM call {_name(call)} failed: {detail}" + (" (a later call succeeded)" if recovered else ""),
                call.span_id,
            )
        )
        following = later[0] if later else None
        if following is not None and _succeeded(following) and _other_route(call, following):
            findings.append(
                Finding(
                    "route.fallback",
                    WARN,
                    f"{_name(call)} failed and {_name(following)} answered instead (fallback)",
                    following.span_id,
                    evidence={"failed_span_id": call.span_id, "from": call.model, "to": following.model},
                )
            )
    return findings


def _end(span: Span) -> float:
    return span.end_ns if span.end_ns is not None else float("inf")


def _ends_after(other: Span, call: Span) -> bool:
    return _end(other) > _end(call) or (_end(other) == _end(call) and (other.start_ns or 0) > (call.start_ns or 0))


def _succeeded(span: Span) -> bool:
    return span.status != ERROR and span.end_ns is not None


def _other_route(failed: Span, answered: Span) -> bool:
    if failed.model and answered.model and not models_agree(failed.model, answered.model):
        return True
    return bool(failed.provider and answered.provider and failed.provider != answered.provider)


def _name(span: Span) -> str:
    return span.model or span.name or span.span_id
