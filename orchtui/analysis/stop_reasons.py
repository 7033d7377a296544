"""Stop-reason findings of design/evaluators.md §8.6, per LLM call.

The terminal LLM call (the last one of a finished trace) is judged strictly: a truncated, filtered, failed or
missing stop reason there is what the user saw. Earlier calls get warnings. While a trace is still running no
call is terminal yet, so live views do not flag a call that is merely the latest so far.

Some producers never record finish reasons at all (the OpenAI Agents SDK's own export); their missing reasons are
reported as info, naming the cause, instead of flooding every trace with critical findings.
"""

from __future__ import annotations

from collections.abc import Callable

from parsers.producers import producer_for
from parsers.span import ERROR, LLM, Span

from .calls import CALL_KINDS
from .findings import CRITICAL, INFO, WARN, Finding

_ABNORMAL = {
    "length": ("stop_reason.truncated", "was cut off by the token limit (finish reason {raw})"),
    "content_filter": ("stop_reason.filtered", "was stopped by a content filter (finish reason {raw})"),
    "error": ("stop_reason.provider_error", "ended with a provider error (finish reason {raw})"),
    "pause": ("stop_reason.paused", "paused mid-turn (finish reason {raw})"),
}


def infer_tool_call_stops(llm_calls: list[Span], ordered: list[Span]) -> None:
    """A call from a producer that records no finish reason and no response message (the Agents SDK's export), or
    whose "stop" also ends turns that called tools (Google ADK's Gemini vocabulary), still shows that it asked for
    tools: a tool, retriever or hand-off ran after it, before the next call. Its stop reason becomes an inferred
    `tool_calls`. The trace is needed to see this, so it is done here rather than
    in the parser; it only ever turns a missing reason into `tool_calls`, so repeating it is harmless."""
    calls = {span.span_id for span in llm_calls}
    last = None
    for span in ordered:
        if span.span_id in calls:
            last = span
        elif last is not None and span.kind in CALL_KINDS:
            unrecorded = last.stop_reason in (None, "missing") and not last.records_finish_reason
            covered = last.stop_reason == "stop" and _stop_covers_tool_calls(last)
            if (unrecorded or covered) and last.status != ERROR:
                last.stop_reason, last.stop_reason_inferred = "tool_calls", True
            last = None


def _stop_covers_tool_calls(span: Span) -> bool:
    producer = producer_for(span.scope)
    return producer is not None and producer.stop_covers_tool_calls


def stop_reason_findings(llm_calls: list[Span], ordered: list[Span], trace_finished: bool) -> list[Finding]:
    """Findings for a trace's LLM spans; `ordered` (all spans by start) tells what ran after each call."""
    position = {span.span_id: index for index, span in enumerate(ordered)}
    if _tools_unobservable(llm_calls, ordered):
        # Neither tool spans nor any message or requested call (a producer writing metadata only, like Anthropic's
        # SDK spans): whether a requested tool ran cannot be seen, so a final tool_calls stop is not dangling.
        findings = call_findings(llm_calls, lambda call: True, trace_finished, lambda call: True)
        last = llm_calls[-1] if llm_calls else None
        if trace_finished and last is not None and last.stop_reason == "tool_calls":
            findings.append(Finding("stop_reason.tools_unseen", INFO, TOOLS_UNSEEN, last.span_id))
        return findings
    if _tools_run_unseen(llm_calls, ordered):
        # The producer writes no tool spans (a hand-written loop over an instrumented client), yet tool results
        # come back in later requests: whether the last requested tool ran cannot be seen, so no call is judged
        # dangling or inconsistent for lack of a tool span.
        return call_findings(llm_calls, lambda call: True, trace_finished, lambda call: True)
    ran_tools = _calls_followed_by_tools(llm_calls, ordered)
    return call_findings(
        llm_calls,
        lambda call: _followed_by_step(call, ordered, position),
        trace_finished,
        lambda call: call.span_id in ran_tools,
    )


TOOLS_UNSEEN = (
    "the final call asked for tools, but the producer records neither tool spans nor messages: whether they ran "
    "cannot be seen, so it is not judged dangling"
)


def _tools_unobservable(llm_calls: list[Span], ordered: list[Span]) -> bool:
    if any(span.kind in CALL_KINDS for span in ordered):
        return False
    return not any(call.requested_tool_calls or call.input_messages or call.output_messages for call in llm_calls)


def _tools_run_unseen(llm_calls: list[Span], ordered: list[Span]) -> bool:
    if any(span.kind in CALL_KINDS for span in ordered):
        return False
    return any(message.role == "tool" for call in llm_calls[1:] for message in call.input_messages)


def _calls_followed_by_tools(llm_calls: list[Span], ordered: list[Span]) -> set[str]:
    """Ids of the calls after which a tool, retriever or hand-off ran before the next call."""
    calls = {span.span_id for span in llm_calls}
    followed: set[str] = set()
    last = None
    for span in ordered:
        if span.span_id in calls:
            last = span.span_id
        elif last is not None and span.kind in CALL_KINDS:
            followed.add(last)
    return followed


def call_findings(
    llm_calls: list,
    followed: Callable[[object], bool],
    trace_finished: bool,
    tools_ran: Callable[[object], bool] | None = None,
) -> list[Finding]:
    """§8.6 per LLM call. A call is anything with span_id, stop_reason, finish_reasons, records_finish_reason,
    requested_tool_calls, output_messages and model (a Span, or an evaluator's LLMCall); `followed(call)` says
    whether a tool execution or another LLM call came after it; `tools_ran(call)` whether a tool ran right after
    it (then a `tool_calls` reason with no tool call in the recorded output is the producer dropping the part)."""
    findings: list[Finding] = []
    if not llm_calls:
        return findings
    terminal = llm_calls[-1] if trace_finished else None
    unrecorded = [
        span
        for span in llm_calls
        if span.stop_reason in (None, "missing") and not span.records_finish_reason and not _failed(span)
    ]
    if unrecorded:
        findings.append(
            Finding(
                "stop_reason.missing",
                INFO,
                f"{len(unrecorded)} LLM call(s) without a finish reason: this producer never exports one",
                unrecorded[-1].span_id,
                evidence={"span_ids": [span.span_id for span in unrecorded]},
            )
        )
    for span in llm_calls:
        is_terminal = span is terminal
        severity = CRITICAL if is_terminal else WARN
        where = f"{'final' if is_terminal else 'intermediate'} LLM call {_label(span)}".rstrip()
        reason = span.stop_reason or "missing"
        raw = span.finish_reasons[0] if span.finish_reasons else None

        if reason == "missing":
            if span.records_finish_reason and not _failed(span):  # a failed call is llm.error, not this
                findings.append(Finding("stop_reason.missing", severity, f"{where} has no finish reason", span.span_id))
            continue
        requested = span.requested_tool_calls
        if reason == "length" and requested:
            findings.append(
                Finding(
                    "stop_reason.truncated_tool_args",
                    CRITICAL,
                    f"{where} requested {len(requested)} tool call(s) but was cut off by the token limit: arguments may be incomplete",
                    span.span_id,
                )
            )
            continue
        if reason == "length" and getattr(span, "stop_reason_inferred", False):
            findings.append(
                Finding(
                    "stop_reason.truncated",
                    severity,
                    f"{where} was likely cut off: its output reached the requested token limit (the producer "
                    "records no finish reason)",
                    span.span_id,
                )
            )
            continue
        if reason in _ABNORMAL:
            code, text = _ABNORMAL[reason]
            findings.append(Finding(code, severity, f"{where} {text.format(raw=raw)}", span.span_id))
            continue
        has_output = bool(span.output_messages)
        if reason == "tool_calls":
            if is_terminal and not followed(span):
                findings.append(
                    Finding(
                        "stop_reason.dangling_tool_call",
                        CRITICAL,
                        f"{where} asked for tool calls but nothing ran after it",
                        span.span_id,
                    )
                )
            elif has_output and not requested:
                if tools_ran is not None and tools_ran(span):  # the request happened; its part was not recorded
                    findings.append(
                        Finding(
                            "stop_reason.inconsistent",
                            INFO,
                            f"{where} reports {raw!r} and a tool ran after it, but its recorded output has no "
                            "tool call (the producer did not record it)",
                            span.span_id,
                        )
                    )
                else:
                    findings.append(
                        Finding(
                            "stop_reason.inconsistent",
                            WARN,
                            f"{where} reports {raw!r} but its output has no tool call",
                            span.span_id,
                        )
                    )
        elif reason == "stop" and has_output:
            if requested:
                findings.append(
                    Finding(
                        "stop_reason.inconsistent",
                        INFO,
                        f"{where} requested tool calls but reports {raw!r} (some providers do)",
                        span.span_id,
                    )
                )
            elif not any((m.content or "").strip() for m in span.output_messages):
                findings.append(Finding("stop_reason.empty_stop", WARN, f"{where} stopped normally with an empty answer", span.span_id))
    return findings


FOLLOW_UP_KINDS = (*CALL_KINDS, LLM)


def _failed(call: object) -> bool:
    """A Span with an error status, or an evaluator's LLMCall marked failed."""
    return getattr(call, "status", None) == ERROR or bool(getattr(call, "failed", False))


def _followed_by_step(span: Span, ordered: list[Span], position: dict[str, int]) -> bool:
    """Did a tool execution (a tool, retriever or hand-off span: a requested `transfer_to_…` runs as a hand-off)
    or another LLM call start after this one?"""
    for later in ordered[position[span.span_id] + 1 :]:
        if later.kind in FOLLOW_UP_KINDS and later is not span:
            return True
    return False


def _label(span: Span) -> str:
    model = f", {span.model}" if span.model else ""
    if span.span_id is None:  # calls given as plain parts have no span
        return f"({span.model})" if span.model else ""
    return f"(span {span.span_id.removeprefix('span_')[:8]}{model})"
