"""Binary OTLP: the same traces as their OTLP/JSON twins, the collector's length-prefixed files, damaged input."""

from __future__ import annotations

import pytest
from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from parsers import parse_bytes, read_path
from parsers.otlp_json import parse as parse_json
from parsers.otlp_proto import decode_request, parse, spans_from_request
from parsers.span import Source
from tests.conftest import DATA
from tests.spans import span_facts

TWINS = [
    ("langgraph/langgraph-openinference.otlp.pb", "langgraph/langgraph-openinference.otlp.jsonl", 78),
    ("langgraph/langgraph-traceai.otlp.pb", "langgraph/langgraph-traceai.otlp.jsonl", 78),
    ("openai-agents/agents-openinference.otlp.pb", "openai-agents/agents-openinference.otlp.jsonl", 39),
]


def by_id(spans):
    return {span.span_id: span for span in spans}


def framed(*messages: bytes) -> bytes:
    """The collector file exporter's `format: proto`: each message behind a 4-byte big-endian length."""
    return b"".join(len(message).to_bytes(4, "big") + message for message in messages)


def per_trace_messages(path: str) -> list[bytes]:
    """Split one request into one request per trace, as a collector batching per trace would write them."""
    request = decode_request((DATA / path).read_bytes())
    out: dict[bytes, ExportTraceServiceRequest] = {}
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if span.trace_id not in out:
                    out[span.trace_id] = ExportTraceServiceRequest()
                    target = out[span.trace_id].resource_spans.add()
                    target.resource.CopyFrom(resource_spans.resource)
                    target.scope_spans.add().scope.CopyFrom(scope_spans.scope)
                out[span.trace_id].resource_spans[0].scope_spans[0].spans.add().CopyFrom(span)
    return [message.SerializeToString() for message in out.values()]


@pytest.mark.parametrize(("pb", "jsonl", "count"), TWINS)
def test_protobuf_gives_exactly_the_spans_of_its_json_twin(pb, jsonl, count):
    proto = read_path(DATA / pb)
    json = read_path(DATA / jsonl)
    assert proto.format == "otlp-proto" and proto.errors == [] and len(proto.spans) == count
    proto_spans, json_spans = by_id(proto.spans), by_id(json.spans)
    assert proto_spans.keys() == json_spans.keys()
    for span_id, span in proto_spans.items():
        assert span_facts(span) == span_facts(json_spans[span_id]), span.name


def test_twin_values_that_matter_are_really_there():
    spans = read_path(DATA / "langgraph/langgraph-traceai.otlp.pb").spans
    llm_calls = [s for s in spans if s.kind == "llm"]
    assert len(llm_calls) == 10 and {s.service for s in spans} == {"vendor-assistant"}
    assert sorted(s.stop_reason for s in llm_calls).count("length") == 1
    lookups = [s for s in spans if s.kind == "tool" and s.tool_name == "lookup_policy"]
    assert len(lookups) == 5 and lookups[0].parent_id is not None


def test_every_any_value_form_matches_the_json_decoder():
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(1, 17)), bytes(range(1, 9)), "forms"
    span.status.code, span.status.message = 2, "boom"
    values = {
        "s": lambda v: setattr(v, "string_value", "text"),
        "i": lambda v: setattr(v, "int_value", 2**40),
        "d": lambda v: setattr(v, "double_value", 0.25),
        "b": lambda v: setattr(v, "bool_value", False),
        "raw": lambda v: setattr(v, "bytes_value", b"\x00\xffhi"),
        "empty": lambda v: None,
    }
    for key, set_value in values.items():
        kv = span.attributes.add()
        kv.key = key
        set_value(kv.value)
    array = span.attributes.add()
    array.key = "gen_ai.response.finish_reasons"
    array.value.array_value.values.add().string_value = "stop"
    array.value.array_value.values.add().int_value = 3
    kvlist = span.attributes.add()
    kvlist.key = "meta"
    inner = kvlist.value.kvlist_value.values.add()
    inner.key, inner.value.bool_value = "flag", True
    event = span.events.add()
    event.name, event.time_unix_nano = "exception", 1544712660000000001
    event.attributes.add(key="exception.type").value.string_value = "ValueError"

    (from_proto,) = parse(request.SerializeToString(), "forms.pb").spans
    (from_json,) = parse_json(MessageToJson(request).encode(), "forms.json").spans  # base64 ids, int64 strings
    assert from_proto.attributes == from_json.attributes
    assert from_proto.attributes["raw"] == "AP9oaQ==" and from_proto.attributes["empty"] is None
    assert from_proto.attributes["meta"] == {"flag": True} and from_proto.attributes["i"] == 2**40
    assert (from_proto.trace_id, from_proto.span_id) == (from_json.trace_id, from_json.span_id) == (
        bytes(range(1, 17)).hex(),
        bytes(range(1, 9)).hex(),
    )
    assert from_proto.parent_id is None and from_proto.start_ns is None
    assert (from_proto.status, from_proto.status_message) == ("error", "boom")
    assert [(e.name, e.time_ns, e.attributes) for e in from_proto.events] == [
        ("exception", 1544712660000000001, {"exception.type": "ValueError"})
    ]


def test_receiver_entry_point_takes_a_decoded_request():
    request = decode_request((DATA / "openai-agents/agents-openinference.otlp.pb").read_bytes())
    spans = spans_from_request(request, Source("POST /v1/traces"))
    assert len(spans) == 39 and str(spans[0].source) == "POST /v1/traces"


def test_length_prefixed_file_of_several_messages(tmp_path):
    messages = per_trace_messages("langgraph/langgraph-openinference.otlp.pb")
    messages += [(DATA / "openai-agents/agents-openinference.otlp.pb").read_bytes()]
    assert len(messages) == 5
    path = tmp_path / "collector-export.bin"
    path.write_bytes(framed(*messages))
    result = read_path(path)
    assert result.format == "otlp-proto" and result.errors == []
    expected = read_path(DATA / "langgraph/langgraph-openinference.otlp.jsonl").spans
    expected += read_path(DATA / "openai-agents/agents-openinference.otlp.jsonl").spans
    got, want = by_id(result.spans), by_id(expected)
    assert got.keys() == want.keys() and len(got) == 78 + 39
    assert all(span_facts(got[span_id]) == span_facts(want[span_id]) for span_id in got)
    assert {str(span.source) for span in result.spans} == {f"{path}[{i}]" for i in range(5)}


def test_garbage_bytes_are_one_error_not_an_exception():
    result = parse(b"\x0a\xff\xff\xff\x0fnot protobuf at all", "junk.pb")
    assert result.spans == [] and len(result.errors) == 1
    assert "not a valid OTLP ExportTraceServiceRequest" in result.errors[0].message
    through_reader = parse_bytes(b"\x0a\x05garbage and more", "junk.pb")
    assert through_reader.format == "otlp-proto" and through_reader.spans == [] and through_reader.errors


def test_truncated_raw_request_is_reported():
    data = (DATA / "langgraph/langgraph-traceai.otlp.pb").read_bytes()
    result = parse(data[: len(data) // 2], "cut.pb")
    assert result.spans == [] and result.errors[0].source == "cut.pb"


def test_truncated_length_prefixed_stream_keeps_the_complete_messages():
    messages = per_trace_messages("langgraph/langgraph-traceai.otlp.pb")
    data = framed(*messages)
    cut = len(data) - len(messages[-1]) // 2
    result = parse(data[:cut], "live.bin")
    assert len(result.spans) == 78 - 7  # every trace but the last (long_answer, 7 spans)
    (error,) = result.errors
    offset = sum(4 + len(m) for m in messages[:-1])
    assert error.source == "live.bin[3]" and f"message 3 at byte {offset}" in error.message
    assert "truncated" in error.message and "still being written" in error.message
    cut_in_prefix = parse(data[: offset + 2], "live.bin")
    assert len(cut_in_prefix.spans) == 71 and "incomplete length prefix" in cut_in_prefix.errors[0].message
    first_unfinished = parse(data[:100], "new.bin")
    assert first_unfinished.spans == [] and "message 0 at byte 0: truncated" in first_unfinished.errors[0].message


def test_a_corrupt_or_foreign_message_costs_itself_only():
    messages = per_trace_messages("langgraph/langgraph-traceai.otlp.pb")
    metrics = ExportMetricsServiceRequest()
    metric = metrics.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name, metric.unit = "http.server.duration", "ms"
    metric.gauge.data_points.add().as_double = 3.0
    data = framed(messages[0], b"\x0a\xff\xff\xff\x0fxx", metrics.SerializeToString(), *messages[1:])
    result = parse(data, "mixed.bin")
    assert len(result.spans) == 78
    assert [e.source for e in result.errors] == ["mixed.bin[1]", "mixed.bin[2]"]
    assert "not a valid OTLP" in result.errors[0].message and "not trace data" in result.errors[1].message
