"""OpenTelemetry JS ReadableSpan dumps: the Vercel AI SDK v6 fixture, tool-call spans, layouts and damage."""

from __future__ import annotations

import orjson

from parsers import read_path
from parsers.read import iter_read_path
from parsers.readable_span import parse, parse_record
from parsers.span import EMBEDDING, LLM, Source
from tests.conftest import DATA

FIXTURE = DATA / "vercel/ai-sdk-v6-all-spans.json"


def spans_by_id():
    result = read_path(FIXTURE)
    assert result.format == "otel-js-spans" and result.errors == [] and len(result.spans) == 10
    return {span.span_id: span for span in result.spans}


def test_generate_text_model_call():
    call = spans_by_id()["39d6e9b3ddec9996"]
    assert (call.name, call.kind) == ("ai.generateText.doGenerate", LLM)
    assert call.trace_id == "b3e700af9eab81e19f72f964d62a35af"
    assert call.model == "gpt-4o-mini-2024-07-18" and call.provider == "openai.responses"
    assert (call.tokens.prompt, call.tokens.completion, call.tokens.total) == (14, 20, 34)
    assert call.finish_reasons == ("stop",) and call.stop_reason == "stop"
    assert (call.start_ns, call.end_ns) == (1770131992_242000000, 1770131994_021415667)
    assert call.status == "unset" and call.parent_id is None
    assert [(m.role, m.content) for m in call.input_messages] == [("user", "Write a haiku about programming.")]
    assert call.output_messages[0].content.startswith("Lines of code align,")


def test_stream_text_model_call_with_events_and_usage_details():
    stream = spans_by_id()["5a81ef3ffb5d8603"]
    assert stream.kind == LLM and stream.stop_reason == "stop"
    assert (stream.tokens.prompt, stream.tokens.completion, stream.tokens.total) == (15, 112, 127)
    assert (stream.tokens.cache_read, stream.tokens.reasoning) == (0, 0)
    assert [(e.name, e.time_ns) for e in stream.events] == [
        ("ai.stream.firstChunk", 1770132001_025056459),
        ("ai.stream.finish", 1770132005_983212750),
    ]
    assert stream.events[0].attributes == {"ai.response.msToFirstChunk": 426.8535000000011}


def test_outer_calls_are_not_model_calls_so_tokens_count_once():
    spans = spans_by_id()
    outer = spans["648be1dfd8e521b6"]
    assert outer.name == "ai.generateText" and outer.kind != LLM and outer.stop_reason is None
    assert outer.tokens.prompt == 14  # the wrapper repeats its call's usage
    kinds = {span.name: span.kind for span in spans.values()}
    assert kinds == {
        "ai.generateText.doGenerate": LLM,
        "ai.generateText": "agent",
        "ai.generateObject.doGenerate": LLM,
        "ai.generateObject": "chain",
        "ai.streamText.doStream": LLM,
        "ai.streamText": "agent",
        "ai.embed.doEmbed": EMBEDDING,
        "ai.embed": "chain",
    }
    model_calls = [s for s in spans.values() if s.kind == LLM]
    assert len(model_calls) == 4
    assert sum(s.tokens.prompt for s in model_calls) == 14 + 50 + 63 + 15
    assert sum(s.tokens.completion for s in model_calls) == 20 + 9 + 156 + 112


def test_embedding_call_reports_its_input_tokens():
    embed = spans_by_id()["53e12604843b0399"]
    assert embed.kind == EMBEDDING and embed.model == "text-embedding-3-small"
    assert (embed.tokens.prompt, embed.tokens.total) == (10, 10)  # `ai.usage.tokens`


def tool_call_span(**overrides) -> dict:
    """An `ai.toolCall` span with the attributes the AI SDK sets (the fixture has none: its tests use no tools)."""
    span = {
        "name": "ai.toolCall",
        "kind": 0,
        "spanContext": {"traceId": "b3e700af9eab81e19f72f964d62a35af", "spanId": "1111111111111111", "traceFlags": 1},
        "parentSpanContext": {"traceId": "b3e700af9eab81e19f72f964d62a35af", "spanId": "648be1dfd8e521b6"},
        "attributes": {
            "operation.name": "ai.toolCall",
            "ai.operationId": "ai.toolCall",
            "ai.toolCall.name": "weather",
            "ai.toolCall.id": "call_5HYpmbcUWt1Pu9Ye2rgXKGLs",
            "ai.toolCall.args": '{"location":"San Francisco"}',
            "ai.toolCall.result": '{"location":"San Francisco","temperature":72}',
        },
        "status": {"code": 2, "message": "tool failed"},
        "startTime": [1770131992, 500000000],
        "endTime": [1770131992, 600000000],
        "events": [],
        "resource": {"_rawAttributes": [["service.name", "weather-app"], ["telemetry.sdk.language", "nodejs"]]},
        "instrumentationScope": {"name": "ai", "version": "6.0.68"},
    }
    span.update(overrides)
    return span


def test_tool_call_spans():
    (tool,) = parse_record(tool_call_span(), Source("x"))
    assert tool.kind == "tool" and tool.tool_name == "weather"
    assert tool.tool_args == {"location": "San Francisco"}
    assert tool.tool_call_id == "call_5HYpmbcUWt1Pu9Ye2rgXKGLs"
    assert tool.output == '{"location":"San Francisco","temperature":72}'
    assert tool.parent_id == "648be1dfd8e521b6" and tool.service == "weather-app"
    assert (tool.status, tool.status_message) == ("error", "tool failed")
    assert tool.duration_ns == 100_000_000


def test_sdk_1x_parent_id_and_resource_and_an_open_span():
    resource = {"_attributes": {"service.name": "svc"}}
    record = tool_call_span(parentSpanId="648BE1DFD8E521B6", endTime=[0, 0], resource=resource)
    del record["parentSpanContext"]
    (tool,) = parse_record(record, Source("x"))
    assert tool.parent_id == "648be1dfd8e521b6" and tool.service == "svc" and tool.is_open


def test_vercel_finish_reason_spelling_is_normalized():
    call = {
        "name": "ai.streamText.doStream",
        "spanContext": {"traceId": "ab" * 16, "spanId": "cd" * 8},
        "attributes": {"ai.operationId": "ai.streamText.doStream", "ai.response.finishReason": "tool-calls"},
        "status": {"code": 0},
    }
    (span,) = parse_record(call, Source("x"))
    assert span.finish_reasons == ("tool-calls",) and span.stop_reason == "tool_calls"


def test_json_lines_and_streaming_give_the_same_spans(tmp_path):
    items = orjson.loads(FIXTURE.read_bytes())
    path = tmp_path / "spans.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(item) for item in items) + b"\n")
    result = read_path(path)
    assert result.format == "otel-js-spans" and result.errors == []
    expected = [(s.span_id, s.kind, s.tokens, s.finish_reasons) for s in read_path(FIXTURE).spans]
    assert [(s.span_id, s.kind, s.tokens, s.finish_reasons) for s in result.spans] == expected
    streamed = [s for part, _ in iter_read_path(path, chunk_bytes=8_000) for s in part.spans]
    assert [s.span_id for s in streamed] == [e[0] for e in expected]
    assert str(result.spans[2].source) == f"{path}:3"


def test_a_bad_array_item_costs_itself_only_and_broken_json_is_one_error():
    items = orjson.loads(FIXTURE.read_bytes())
    items.insert(3, {"name": "no context"})
    result = parse(orjson.dumps(items), "all.json")
    assert len(result.spans) == 10 and [e.source for e in result.errors] == ["all.json[3]"]
    broken = parse(FIXTURE.read_bytes()[:-200], "cut.json")
    assert broken.spans == [] and "not valid JSON" in broken.errors[0].message
    lines = [orjson.dumps(tool_call_span())] * 2
    bad_first = parse(b"\n".join([b'{"name": "ai.toolCall", "spanCon', *lines]), "lines.jsonl")
    assert len(bad_first.spans) == 2 and [e.source for e in bad_first.errors] == ["lines.jsonl:1"]
    (single,) = parse(orjson.dumps(tool_call_span(), option=orjson.OPT_INDENT_2), "one.json").spans
    assert single.tool_name == "weather" and str(single.source) == "one.json"
