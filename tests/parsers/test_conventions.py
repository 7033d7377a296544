"""The attribute normalizer: one LLM call written in three vocabularies must read the same."""

from __future__ import annotations

import json

import pytest

from parsers.conventions import (
    apply_attributes,
    finish_reasons_from_payload,
    is_stream_chunk,
    normalize_stop_reason,
)
from parsers.read import read_path
from parsers.span import LLM, OTHER, Span
from tests.conftest import DATA

VOCABULARIES = [
    "openinference_client_span_tool_calls.json",
    "otel_genai_client_span_tool_calls.json",
    "otel_genai_deprecated_client_span_tool_calls.json",
]


def normalized(attrs: dict, name: str = "chat") -> Span:
    span = Span(trace_id="t", span_id="s", name=name)
    apply_attributes(span, attrs)
    return span


def fixture(name: str) -> dict:
    return json.loads((DATA / "openinference" / name).read_text())


@pytest.mark.parametrize("name", VOCABULARIES)
def test_the_same_call_normalizes_the_same_in_every_vocabulary(name):
    span = normalized(fixture(name))
    assert span.kind == "llm"
    assert span.model in ("gpt-4-0613", "gpt-4")  # OpenInference names the response model only
    assert span.provider == "openai"
    assert (span.tokens.prompt, span.tokens.completion, span.tokens.total) == (97, 52, 149)
    assert span.finish_reasons == ("stop",) and span.stop_reason == "stop"
    roles = [m.role for m in span.input_messages]
    assert roles == ["user", "assistant", "tool"]
    assert span.input_messages[0].content == "Weather in Paris?"
    (call,) = span.input_messages[1].tool_calls
    assert (call.name, call.arguments, call.id) == ("get_weather", {"location": "Paris"}, "1234")
    assert span.output_messages[0].role == "assistant"
    assert "rainy" in span.output_messages[0].content


def test_genai_prefers_the_response_model():
    assert normalized(fixture("otel_genai_client_span_tool_calls.json")).model == "gpt-4-0613"


def test_input_output_only_span_rebuilds_messages_from_the_payloads():
    span = normalized(fixture("openinference_client_span_input_output_only.json"))
    assert [m.role for m in span.input_messages] == ["user", "assistant", "tool"]
    assert span.output_messages[0].content.startswith("The weather in Paris")
    assert span.stop_reason == "stop"


def test_genai_tool_execution_span():
    span = normalized(fixture("otel_genai_tool_execution_span.json"), name="execute_tool get_weather")
    assert span.kind == "tool"
    assert span.tool_name == "get_weather"
    assert span.tool_call_id == "1234"
    assert span.tool_args == {"city": "New York"}
    assert "sunny" in span.output


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("stop", "stop"), ("end_turn", "stop"), ("STOP", "stop"), ("stop_sequence", "stop"), ("complete", "stop"),
        ("tool_calls", "tool_calls"), ("function_call", "tool_calls"), ("tool_use", "tool_calls"),
        ("length", "length"), ("max_tokens", "length"), ("MAX_TOKENS", "length"),
        ("model_context_window_exceeded", "length"), ("content_filter", "content_filter"), ("refusal", "content_filter"),
        ("SAFETY", "content_filter"), ("RECITATION", "content_filter"), ("guardrail_intervened", "content_filter"),
        ("pause_turn", "pause"), ("error", "error"), (None, "missing"), ("", "missing"), ("[]", "missing"),
        ("something_new", "other"),
    ],
)
def test_stop_reason_normalization(raw, expected):
    assert normalize_stop_reason(raw) == expected


def test_finish_reasons_from_output_payloads():
    langchain = {"generations": [[{"generation_info": None, "message": {"lc": 1, "kwargs": {"response_metadata": {"finish_reason": "length"}}}}]]}
    assert finish_reasons_from_payload(langchain) == ("length",)
    assert finish_reasons_from_payload({"generations": [[{"generation_info": {"finish_reason": "stop"}}]]}) == ("stop",)
    assert finish_reasons_from_payload({"choices": [{"finish_reason": "tool_calls"}, {"finish_reason": "stop"}]}) == ("tool_calls", "stop")
    assert finish_reasons_from_payload({"role": "assistant", "stop_reason": "end_turn"}) == ("end_turn",)
    assert finish_reasons_from_payload({"candidates": [{"finishReason": "SAFETY"}]}) == ("SAFETY",)
    assert finish_reasons_from_payload({"object": "response", "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}) == ("max_output_tokens",)
    assert finish_reasons_from_payload("plain text") == ()


def test_finish_reason_attribute_forms():
    assert normalized({"gen_ai.operation.name": "chat", "gen_ai.response.finish_reasons": ["stop", "length"]}).finish_reasons == ("stop", "length")
    # LangSmith's OTel export joins the array with commas
    assert normalized({"langsmith.span.kind": "llm", "gen_ai.response.finish_reasons": "tool_calls,stop"}).finish_reasons == ("tool_calls", "stop")
    assert normalized({"ai.operationId": "ai.generateText.doGenerate", "ai.response.finishReason": "tool-calls"}).stop_reason == "tool_calls"


def test_numbers_as_strings_and_computed_total():
    span = normalized({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": "12", "gen_ai.usage.output_tokens": 3.0})
    assert (span.tokens.prompt, span.tokens.completion, span.tokens.total) == (12, 3, 15)


def test_kinds_across_vocabularies():
    cases = {
        ("openinference.span.kind", "RETRIEVER"): "retriever",
        ("gen_ai.span.kind", "TOOL"): "tool",
        ("fi.span.kind", "AGENT"): "agent",
        ("gen_ai.operation.name", "invoke_agent"): "agent",
        ("gen_ai.operation.name", "embeddings"): "embedding",
        ("langsmith.span.kind", "llm"): "llm",
        ("traceloop.span.kind", "workflow"): "chain",
        ("openinference.span.kind", "GUARDRAIL"): "guardrail",
    }
    for (key, value), kind in cases.items():
        assert normalized({key: value}).kind == kind, (key, value)
    handoff = normalized({"openinference.span.kind": "TOOL", "input.value": "triage"}, name="handoff to billing_agent")
    assert handoff.kind == "handoff"


def test_langgraph_position_from_top_level_or_metadata_json_and_trajectory_step():
    top = normalized({"gen_ai.span.kind": "CHAIN", "langgraph_step": "3", "langgraph_node": "tools"})
    assert (top.graph_step, top.graph_node) == (3, "tools")
    inside = normalized({"openinference.span.kind": "CHAIN", "metadata": '{"langgraph_step": 4, "langgraph_node": "agent", "thread_id": "th-1"}'})
    assert (inside.graph_step, inside.graph_node, inside.session_id) == (4, "agent", "th-1")
    assert normalized({"openinference.span.kind": "CHAIN", "agent.trajectory.step": 7}).graph_step == 7


def test_explicit_retry_markers():
    assert normalized({"tag.tags": ["seq:step:1", "retry:attempt:3"]}).retry_attempt == 3
    assert normalized({"http.request.resend_count": 1}).retry_attempt == 2


def test_error_type_marks_an_unset_span_as_error():
    span = normalized({"gen_ai.operation.name": "chat", "error.type": "timeout"})
    assert span.status == "error" and span.status_message == "timeout"


def test_openllmetry_flattened_prompts_and_completions():
    span = normalized(
        {
            "llm.request.type": "chat",
            "gen_ai.system": "Anthropic",
            "gen_ai.request.model": "claude-3-5-sonnet-20241022",
            "gen_ai.usage.prompt_tokens": 40,
            "gen_ai.usage.completion_tokens": 9,
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "What is the weather?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.finish_reason": "tool_use",
            "gen_ai.completion.0.tool_calls.0.name": "get_weather",
            "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Oslo"}',
            "traceloop.workflow.name": "weather",
        }
    )
    assert span.kind == "llm" and span.provider == "Anthropic"
    assert (span.tokens.prompt, span.tokens.completion, span.tokens.total) == (40, 9, 49)
    assert span.stop_reason == "tool_calls"
    assert span.input_messages[0].content == "What is the weather?"
    assert [(c.name, c.arguments) for c in span.requested_tool_calls] == [("get_weather", {"city": "Oslo"})]


def test_structured_genai_messages_as_decoded_any_values():
    # SDKs that support structured attributes send kvlists/arrays, decoded by the OTLP parsers to dicts/lists
    span = normalized(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}],
            "gen_ai.output.messages": [
                {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "search", "arguments": {"q": "x"}}], "finish_reason": "tool_call"}
            ],
        }
    )
    assert span.stop_reason == "tool_calls"  # from the deprecated per-message finish_reason
    assert span.input_messages[0].content == "hi"
    assert [(c.name, c.arguments, c.id) for c in span.requested_tool_calls] == [("search", {"q": "x"}, "c1")]


def test_tool_arguments_are_unwrapped_to_what_the_tool_received():
    from parsers.conventions import unwrap_tool_args

    assert unwrap_tool_args({"kwargs": {"query": "refunds"}}) == {"query": "refunds"}  # LlamaIndex
    assert unwrap_tool_args({"kwargs": {"to_agent": "support", "ctx": "<Context object>"}}) == {"to_agent": "support"}
    smolagents = {"args": [], "sanitize_inputs_outputs": True, "kwargs": {"order_id": "A-1"}}
    assert unwrap_tool_args(smolagents) == {"order_id": "A-1"}
    positional = {"args": ["A-1"], "kwargs": {}}
    assert unwrap_tool_args(positional) == positional  # nothing to drop without losing the positional value
    assert unwrap_tool_args({"kwargs": {"a": 1}, "other": 2}) == {"kwargs": {"a": 1}, "other": 2}  # a real argument


def test_a_streamed_chunk_is_never_a_step_of_its_own_whatever_else_it_carries():
    """Mastra's `model_chunk` spans (recorded): OTHER, also with a model on them, so the step tree can tell every
    other span is no chunk without reading its payload back (conventions.is_stream_chunk)."""
    spans = read_path(DATA / "frameworks" / "mastra-native.otlp.jsonl").spans
    chunks = [span for span in spans if span.attributes.get("mastra.span.type") == "model_chunk"]
    assert chunks and all(span.kind == OTHER and is_stream_chunk(span) for span in chunks)
    chunk = chunks[0]
    for key in ("mastra.span.type", "gen_ai.operation.name"):
        attrs = {"gen_ai.request.model": "gpt-4o-mini", key: "model_chunk"}
        assert normalized(attrs, chunk.name).kind == OTHER
        assert normalized({"gen_ai.request.model": "gpt-4o-mini"}, chunk.name).kind == LLM
    assert not any(is_stream_chunk(span) for span in spans if span.kind != OTHER)


def test_facts_from_a_remembered_key_set_equal_a_scan_of_every_key(monkeypatch):
    """`gather` works out once per key set which keys feed which fact; the answer must be the scan's, including a
    better key that is empty on one span (the next key then counts) and a full plan cache (the scan itself)."""
    from parsers import conventions

    spans = [
        {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "gen_ai.request.model": "gpt-4o-mini",
         "llm.token_count.prompt": 12, "gen_ai.usage.input_tokens": 11, "input.value": "hi"},
        {"openinference.span.kind": "LLM", "llm.model_name": "", "gen_ai.request.model": "gpt-4o-mini",
         "llm.token_count.prompt": None, "gen_ai.usage.input_tokens": 11, "input.value": "hi"},
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search", "unrelated": "x"},
    ]
    monkeypatch.setattr(conventions, "_PLANS", {})
    for attrs in spans + spans:  # the second time each key set is planned already
        assert conventions.gather(attrs) == conventions._gather_by_scan(attrs)
    assert conventions.gather(spans[1])["model"] == "gpt-4o-mini"
    assert conventions.gather(spans[1])["tokens.prompt"] == 11
    assert len(conventions._PLANS) == 2  # the first two spans share one key set

    monkeypatch.setattr(conventions, "MAX_PLANS", 2)
    ever_new = {"gen_ai.tool.name": "lookup", "key.never.seen.before": 1}
    assert conventions.gather(ever_new) == {"tool_name": "lookup"}
    assert len(conventions._PLANS) == 2


def test_indexed_keys_grouped_from_a_remembered_layout_equal_a_fresh_grouping(monkeypatch):
    """`_group_indexed` remembers where each key of a key set goes; a span with the same keys and other values
    gets its own values, a new key set its own layout, and a full cache still groups (without remembering)."""
    from parsers import conventions

    monkeypatch.setattr(conventions, "_LAYOUTS", {})
    prefix = "llm.output_messages."
    first = {"llm.output_messages.1.message.role": "assistant", "other": 1, "llm.output_messages.0.message.role": "user",
             "llm.output_messages.0.message.content": "hi", "llm.output_messages.x.message.role": "not an index",
             "llm.output_messages.\u00b2.message.role": "superscript, not an index", "llm.output_messages.3": "no field"}
    second = {key: f"{value}!" if isinstance(value, str) else value for key, value in first.items()}
    expected = {1: {"message.role": "assistant"}, 0: {"message.role": "user", "message.content": "hi"}}
    assert conventions._group_indexed(first, prefix) == expected
    assert list(conventions._group_indexed(first, prefix)) == [1, 0]  # in the order the keys come
    assert conventions._group_indexed(second, prefix) == {
        index: {rest: f"{value}!" for rest, value in fields.items()} for index, fields in expected.items()
    }
    assert len(conventions._LAYOUTS) == 1
    assert conventions._group_indexed({"llm.output_messages.2.message.role": "tool"}, prefix) == {2: {"message.role": "tool"}}

    monkeypatch.setattr(conventions, "MAX_LAYOUTS", 2)
    assert conventions._group_indexed({"llm.output_messages.5.message.name": "n"}, prefix) == {5: {"message.name": "n"}}
    assert len(conventions._LAYOUTS) == 2


def test_key_sets_too_big_to_remember_are_read_without_remembering(monkeypatch):
    """A span with thousands of attributes (hostile, or a very long flattened conversation) is read by a scan: a
    stream of them cannot make the remembered key sets hold their keys."""
    from parsers import conventions

    monkeypatch.setattr(conventions, "_PLANS", {})
    monkeypatch.setattr(conventions, "_LAYOUTS", {})
    attrs = {f"llm.output_messages.{i}.message.content": f"m{i}" for i in range(conventions.MAX_SHAPE_KEYS + 1)}
    attrs["llm.model_name"] = "gpt-4o"
    assert conventions.gather(attrs) == conventions._gather_by_scan(attrs) == {"model": "gpt-4o"}
    groups = conventions._group_indexed(attrs, "llm.output_messages.")
    assert len(groups) == conventions.MAX_SHAPE_KEYS + 1 and groups[7] == {"message.content": "m7"}
    assert conventions._PLANS == {} and conventions._LAYOUTS == {}
