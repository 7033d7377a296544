"""OTLP/JSON in every layout real producers write, and the envelope quirks they have."""

from __future__ import annotations

import orjson

from parsers import parse_bytes, read_path
from parsers.otlp_json import parse
from tests.conftest import DATA


def request(*spans: dict, service: str = "svc") -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}],
            }
        ]
    }


def otlp_span(**overrides) -> dict:
    span = {
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "name": "chat gpt-4o",
        "kind": 3,
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": 1544712661000000123,
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "97"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 52}},
            {"key": "gen_ai.response.finish_reasons", "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}},
            {"key": "temperature", "value": {"doubleValue": 0.5}},
            {"key": "stream", "value": {"boolValue": False}},
            {"key": "meta", "value": {"kvlistValue": {"values": [{"key": "a", "value": {"intValue": "1"}}]}}},
            {"key": "empty", "value": {}},
        ],
        "status": {},
    }
    span.update(overrides)
    return span


def test_canonical_example_uppercase_ids_are_normalized():
    result = read_path(DATA / "otlp/otlp-proto-example-trace.json")
    (span,) = result.spans
    assert result.format == "otlp-json"
    assert span.trace_id == "5b8efff798038103d269b633813fc60c"
    assert span.parent_id == "eee19b7ec3c1b173"
    assert span.service == "my.service"
    assert span.start_ns == 1544712660000000000 and span.duration_ns == 1_000_000_000


def test_any_value_forms_numbers_as_strings_and_status_forms():
    (span,) = parse(orjson.dumps(request(otlp_span())), "x").spans
    assert span.attributes["temperature"] == 0.5 and span.attributes["stream"] is False
    assert span.attributes["meta"] == {"a": 1} and span.attributes["empty"] is None
    assert (span.tokens.prompt, span.tokens.completion, span.tokens.total) == (97, 52, 149)
    assert span.stop_reason == "stop" and span.status == "unset"
    assert span.end_ns == 1544712661000000123
    for status, expected in (({"code": 2, "message": "boom"}, "error"), ({"code": "STATUS_CODE_OK"}, "ok"), ({"message": "m"}, "unset")):
        (one,) = parse(orjson.dumps(request(otlp_span(status=status))), "x").spans
        assert one.status == expected


def test_empty_parent_and_zero_ids_mean_root_and_base64_ids_decode():
    (root,) = parse(orjson.dumps(request(otlp_span(parentSpanId=""))), "x").spans
    assert root.parent_id is None
    (zero,) = parse(orjson.dumps(request(otlp_span(parentSpanId="0000000000000000"))), "x").spans
    assert zero.parent_id is None
    b64 = otlp_span(traceId="W47/95gDgQPSabYzgT/GDA==", spanId="7uGbfsPBsXQ=")
    (decoded,) = parse(orjson.dumps(request(b64)), "x").spans
    assert decoded.trace_id == "5b8efff798038103d269b633813fc60c" and decoded.span_id == "eee19b7ec3c1b174"


def test_snake_case_field_names_are_accepted():
    snake = {"resource_spans": [{"scope_spans": [{"spans": [{"trace_id": "aa" * 16, "span_id": "bb" * 8, "parent_span_id": "cc" * 8, "name": "n", "start_time_unix_nano": 5}]}]}]}
    (span,) = parse(orjson.dumps(snake), "x").spans
    assert (span.trace_id, span.parent_id) == ("aa" * 16, "cc" * 8)


def test_single_document_array_of_requests_and_span_lines():
    first, second = request(otlp_span()), request(otlp_span(spanId="00000000000000aa"))
    pretty = orjson.dumps(first, option=orjson.OPT_INDENT_2)
    assert len(parse_bytes(pretty, "p").spans) == 1
    assert len(parse_bytes(orjson.dumps([first, second]), "a").spans) == 2
    span_lines = orjson.dumps(otlp_span()) + b"\n" + orjson.dumps(otlp_span(spanId="00000000000000bb")) + b"\n"
    result = parse_bytes(span_lines, "lines")
    assert result.format == "otlp-json" and len(result.spans) == 2


def test_events_and_sources():
    event = {"timeUnixNano": "1544712660500000000", "name": "exception", "attributes": [{"key": "exception.type", "value": {"stringValue": "ValueError"}}]}
    data = b"\n" + orjson.dumps(request(otlp_span(events=[event]))) + b"\n"
    (span,) = parse(data, "file.jsonl").spans
    assert span.exception_events[0].attributes["exception.type"] == "ValueError"
    assert str(span.source) == "file.jsonl:2"


def test_metric_and_log_lines_are_skipped_and_counted():
    result = read_path(DATA / "otlp/otel-demo-collector-file-exporter.jsonl")
    assert len(result.spans) == 547 and result.errors == []
    assert result.skipped == {"metric records": 40, "log records": 16}
    assert {s.service for s in result.spans} >= {"frontend"}


def test_a_span_without_ids_is_an_error_for_its_line_only():
    lines = orjson.dumps(request(otlp_span())) + b"\n" + orjson.dumps(request({"name": "no ids"})) + b"\n"
    result = parse(lines, "f")
    assert len(result.spans) == 1
    assert [(e.source, "traceId" in e.message) for e in result.errors] == [("f:2", True)]
