"""Producer profiles: what each instrumentor records, known from its instrumentation scope.

The same missing attribute means different things from different producers. An OpenInference LLM span without a
finish reason lost one (a critical finding); a traceAI-openai span never has one (the instrumentor does not
export it), so flagging it would fail every CI job its users run. The profile says which producers record a
finish reason, and for those that do not, the analysis infers what the data still shows (a requested tool call
means `tool_calls`; output tokens equal to the requested maximum mean `length`) and reports the rest once, as
information naming the producer.

Profiles are looked up by the span's instrumentation scope name (exact, then by prefix), so adding a producer is
adding a row. The facts in each row were read off files recorded from that producer (tests/data/frameworks, whose
truth sidecars the fixture test checks) and are cited in the README's producer matrix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Producer:
    label: str  # how the README and messages name it
    records_finish_reason: bool = True
    # The recorded "stop" also ends turns that asked for tools (the Responses API status written as a reason,
    # Gemini's STOP): a stop with requested tool calls is a tool_calls stop.
    stop_covers_tool_calls: bool = False
    records_usage: bool = True  # False: its token counts are known to be wrong (shown as unknown, not as 0)


# The OpenAI Agents SDK's own trace export (parsers/agents_sdk.py): spans carry usage, never a finish reason.
AGENTS_SDK_EXPORT = Producer("OpenAI Agents SDK export", records_finish_reason=False)

# scope name (or prefix ending in "."/"_") -> profile. Producers absent here are assumed to record finish reasons.
PRODUCERS: dict[str, Producer] = {
    # traceAI's OpenAI, LiteLLM, OpenAI Agents, pydantic-ai, LlamaIndex and Claude Agent SDK instrumentors export
    # no finish-reason attribute; only some outputs keep a payload that names one.
    "traceai_openai": Producer("traceAI-openai", records_finish_reason=False),
    "traceai_litellm": Producer("traceAI-litellm", records_finish_reason=False),
    "traceai_openai_agents": Producer("traceAI-openai-agents", records_finish_reason=False),
    "traceai_pydantic_ai": Producer("traceAI-pydantic-ai", records_finish_reason=False),
    "traceai_llamaindex": Producer("traceAI-llamaindex", records_finish_reason=False),
    # Writes 0 for every token count (it reads the result's usage dict as an object).
    "traceai_claude_agent_sdk": Producer("traceAI-claude-agent-sdk", records_finish_reason=False, records_usage=False),
    "traceai_crewai": Producer("traceAI-crewai", records_finish_reason=False),
    "traceai_mcp": Producer("traceAI-mcp", records_finish_reason=False),
    # Google ADK reports Gemini's vocabulary: STOP also when the model called a function.
    "traceai_google_adk": Producer("traceAI-google-adk", stop_covers_tool_calls=True),
    "gcp.vertex.agent": Producer("Google ADK", stop_covers_tool_calls=True),
    # The finish reason is only in `raw` (a Python repr of the response), which is null when streaming.
    "openinference.instrumentation.smolagents": Producer("OpenInference smolagents", records_finish_reason=False),
    # Writes the Responses status as the reason ("stop" also for tool calls); Chat Completions generation spans
    # get none at all.
    "openinference.instrumentation.openai_agents": Producer(
        "OpenInference openai-agents", records_finish_reason=False, stop_covers_tool_calls=True
    ),
}

_PREFIXES = tuple(sorted(PRODUCERS, key=len, reverse=True))


def producer_for(scope: str | None) -> Producer | None:
    """The profile of the instrumentation scope `scope`, or None for producers assumed to record everything."""
    if not scope:
        return None
    profile = PRODUCERS.get(scope)
    if profile is not None:
        return profile
    for prefix in _PREFIXES:
        if scope.startswith(prefix) and scope[len(prefix) : len(prefix) + 1] in (".", "_", "/", ""):
            return PRODUCERS[prefix]
    return None
