"""Saved answers of trace stores' HTTP APIs open like files (issue 15): Jaeger api/v3 `{"result": ...}`, Tempo
`{"trace": ...}` and `{"batches": ...}`, Phoenix's otlpv1 `{"data": [...], "next_cursor": ...}`.

The response files in tests/data/remote/ are built from one source file (tests/data/remote/README.md says how;
the Phoenix pages were served by a real Phoenix), so each must read as the same spans as that source.
"""

from __future__ import annotations

import orjson
import pytest

from parsers import parse_bytes, read_path
from parsers.sniff import sniff
from tests.conftest import DATA
from tests.spans import span_facts

REMOTE = DATA / "remote"
SOURCE = REMOTE / "source.otlp.pb"
TEMPO_IDS = sorted(path.name.split(".")[0].removeprefix("trace-") for path in (REMOTE / "tempo").glob("*.v1.json"))


def _facts(spans, **options):
    return sorted((span_facts(span, **options) for span in spans), key=repr)


def _read(*paths):
    spans, errors = [], []
    for path in paths:
        result = read_path(path)
        assert result.format == "otlp-json", path
        spans += result.spans
        errors += result.errors
    return spans, errors


@pytest.fixture(scope="module")
def source_spans():
    result = read_path(SOURCE)
    assert result.errors == [] and len(result.spans) == 78
    return result.spans


@pytest.mark.parametrize("name", ["jaeger/find-traces.json", "jaeger/find-traces.stream.jsonl"])
def test_a_saved_jaeger_api_v3_answer_reads_as_the_source_spans(name, source_spans):
    spans, errors = _read(REMOTE / name)
    assert errors == []
    assert _facts(spans) == _facts(source_spans)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_saved_tempo_traces_read_as_the_source_spans(version, source_spans):
    """v2 `{"trace": {"resourceSpans"}}` and v1 `{"batches"}`, with gogo-jsonpb's base64 ids and enum names."""
    spans, errors = _read(*(REMOTE / "tempo" / f"trace-{trace_id}.{version}.json" for trace_id in TEMPO_IDS))
    assert errors == []
    assert _facts(spans) == _facts(source_spans)


def test_saved_phoenix_pages_read_as_the_source_spans_less_what_phoenix_does_not_keep(source_spans):
    """Pages served by arize-phoenix: every AnyValue member spelled out (all but one null), snake_case fields,
    times off the microsecond by float rounding, `metadata` flattened. Read back, only the resource (service) and
    the attributes' spelling differ: LangGraph's step and node come back from `metadata.*`."""
    spans, errors = _read(*sorted((REMOTE / "phoenix").glob("page-*.json")))
    assert errors == []
    strip = lambda facts: facts[:15] + facts[16:-1]  # noqa: E731 - without service and raw attributes
    assert sorted(map(strip, (span_facts(s) for s in spans)), key=repr) == sorted(
        map(strip, (span_facts(s) for s in source_spans)), key=repr
    )
    assert {s.service for s in spans} == {None} and {s.service for s in source_spans} == {"vendor-assistant"}
    assert {s.graph_node for s in spans} >= {"agent", "tools"}
    by_id = {s.span_id: s for s in source_spans}
    for span in spans:  # every attribute the producer wrote comes back, with the same value
        original = by_id[span.span_id].attributes
        assert set(span.attributes) == set(original)
        assert {k: v for k, v in span.attributes.items() if k != "metadata"} == {
            k: v for k, v in original.items() if k != "metadata"
        }
        if "metadata" in original:  # the same object, spelled by another JSON encoder
            assert orjson.loads(span.attributes["metadata"]) == _as_phoenix_keeps(orjson.loads(original["metadata"]))


def _as_phoenix_keeps(value):
    """Phoenix returns an array of mixed types as strings (`_to_array_value`: ["__pregel_push", 0, False] ->
    ["__pregel_push", "0", "False"]): a loss at the source, not undone."""
    if isinstance(value, dict):
        return {key: _as_phoenix_keeps(item) for key, item in value.items()}
    if isinstance(value, list) and value and not all(type(item) is type(value[0]) for item in value):
        return [str(item) for item in value]
    return value


def _null_any_value(**member):
    value = dict.fromkeys(
        ("array_value", "bool_value", "bytes_value", "double_value", "int_value", "kvlist_value", "string_value")
    )
    value.update(member)
    return value


def _phoenix_span(span_id: str, **fields):
    span = {
        "attributes": [], "dropped_attributes_count": None, "dropped_events_count": None, "dropped_links_count": None,
        "end_time_unix_nano": 1_700_000_001_000_000_000, "events": None, "flags": None, "kind": "SPAN_KIND_INTERNAL",
        "links": None, "name": "step", "parent_span_id": None, "span_id": span_id,
        "start_time_unix_nano": 1_700_000_000_000_000_000, "status": {"code": 1, "message": None},
        "trace_id": "0af7651916cd43dd8448eb211c80319c", "trace_state": None,
    }
    span.update(fields)
    return span


def test_phoenix_any_values_keep_falsy_members_and_times_come_back_to_the_microsecond():
    attributes = [
        {"key": "flag", "value": _null_any_value(bool_value=False)},
        {"key": "zero", "value": _null_any_value(int_value=0)},
        {"key": "big", "value": _null_any_value(int_value="9007199254740993")},
        {"key": "ratio", "value": _null_any_value(double_value=0.0)},
        {"key": "empty", "value": _null_any_value(string_value="")},
        {"key": "tags", "value": _null_any_value(array_value={"values": [_null_any_value(string_value="a")]})},
        {"key": "nothing", "value": _null_any_value()},
        {"key": "llm.token_count.prompt", "value": _null_any_value(int_value=7)},
        {"key": "openinference.span.kind", "value": _null_any_value(string_value="LLM")},
    ]
    page = {"data": [_phoenix_span(
        "b7ad6b7169203331", attributes=attributes,
        start_time_unix_nano=1_700_000_000_123_455_744,  # int(datetime.timestamp() * 1e9) of ...123456 µs
        end_time_unix_nano=1_700_000_000_999_999_744,
        events=[{"name": "exception", "time_unix_nano": 1_700_000_000_500_000_256, "dropped_attributes_count": None,
                 "attributes": [{"key": "exception.message", "value": _null_any_value(string_value="boom")}]}],
    )], "next_cursor": None}
    result = parse_bytes(orjson.dumps(page), "page.json")
    assert result.errors == [] and result.format == "otlp-json"
    (span,) = result.spans
    assert span.attributes["flag"] is False and span.attributes["zero"] == 0 and span.attributes["ratio"] == 0.0
    assert span.attributes["big"] == 9007199254740993 and span.attributes["empty"] == ""
    assert span.attributes["tags"] == ["a"] and span.attributes["nothing"] is None
    assert span.kind == "llm" and span.tokens.prompt == 7
    assert (span.start_ns, span.end_ns) == (1_700_000_000_123_456_000, 1_700_000_001_000_000_000)
    assert span.events[0].time_ns == 1_700_000_000_500_000_000 and span.events[0].attributes == {"exception.message": "boom"}


def test_phoenix_flattened_json_string_attributes_fold_back():
    attributes = [
        {"key": "metadata.langgraph_step", "value": _null_any_value(int_value=2)},
        {"key": "input.value", "value": _null_any_value(string_value="hi")},
        {"key": "metadata.langgraph_node", "value": _null_any_value(string_value="agent")},
        {"key": "metadata.thread_id", "value": _null_any_value(string_value="t-9")},
        {"key": "tool.parameters.properties.query.type", "value": _null_any_value(string_value="string")},
        {"key": "retrieval.documents.0.document.metadata.source", "value": _null_any_value(string_value="a.md")},
        {"key": "retrieval.documents.0.document.metadata.pages.0.n", "value": _null_any_value(int_value=1)},
        {"key": "retrieval.documents.0.document.content", "value": _null_any_value(string_value="text")},
    ]
    page = {"data": [_phoenix_span("b7ad6b7169203331", attributes=attributes)], "next_cursor": "U3BhbjoxOA=="}
    (span,) = parse_bytes(orjson.dumps(page), "page.json").spans
    assert list(span.attributes) == [
        "metadata", "input.value", "tool.parameters", "retrieval.documents.0.document.metadata",
        "retrieval.documents.0.document.content",
    ]
    assert orjson.loads(span.attributes["metadata"]) == {"langgraph_step": 2, "langgraph_node": "agent", "thread_id": "t-9"}
    assert (span.graph_step, span.graph_node, span.session_id) == (2, "agent", "t-9")
    assert orjson.loads(span.attributes["tool.parameters"]) == {"properties": {"query": {"type": "string"}}}
    assert orjson.loads(span.attributes["retrieval.documents.0.document.metadata"]) == {"source": "a.md", "pages": [{"n": 1}]}


def test_a_bad_span_of_a_phoenix_page_costs_only_itself():
    page = {"data": [
        _phoenix_span("b7ad6b7169203331"),
        _phoenix_span(None, name="no ids"),
        "not a span",
        _phoenix_span("c7ad6b7169203332", start_time_unix_nano="soon"),
    ], "next_cursor": None}
    result = parse_bytes(orjson.dumps(page), "page.json")
    assert [s.span_id for s in result.spans] == ["b7ad6b7169203331", "c7ad6b7169203332"]
    assert result.spans[1].start_ns is None
    messages = [e.message for e in result.errors]
    assert any(m.startswith("span 1: ValueError: span without traceId/spanId") for m in messages)
    assert any(m.startswith("span 2: ValueError: a str where a span object belongs") for m in messages)
    assert any("startTimeUnixNano: 'soon' is not a timestamp" in m for m in messages)


def test_an_empty_phoenix_page_and_an_empty_tempo_trace_are_no_spans_and_no_errors():
    for document in ({"data": [], "next_cursor": None}, {"trace": {}, "metrics": {"inspectedBytes": "0"}},
                     {"result": {}}, {"batches": []}):
        data = orjson.dumps(document)
        assert sniff(data) == "otlp-json"
        result = parse_bytes(data, "answer.json")
        assert (result.spans, result.errors) == ([], []), document


def test_jaeger_error_answer_is_a_read_error_naming_it():
    result = read_path(REMOTE / "jaeger/no-traces.json")
    assert result.spans == []
    assert [(e.source, e.message) for e in result.errors] == [
        (f"{REMOTE / 'jaeger/no-traces.json'}:1", "error: the store answered 404 No traces found; no spans")
    ]


def test_a_partial_tempo_trace_is_read_and_said():
    document = orjson.loads((REMOTE / "tempo" / f"trace-{TEMPO_IDS[0]}.v2.json").read_bytes())
    document |= {"status": "PARTIAL", "message": "Trace exceeds maximum size of 50 bytes, a partial trace is returned"}
    result = parse_bytes(orjson.dumps(document), "tempo.json")
    assert len(result.spans) > 0
    assert [e.message for e in result.errors] == [
        "status: Tempo returned a partial trace: Trace exceeds maximum size of 50 bytes, a partial trace is returned; spans kept"
    ]


def test_agents_sdk_data_lists_are_still_agents_sdk():
    """OpenAI's `{"data": [...]}` lists have no `next_cursor` and hold trace objects."""
    assert sniff(b'{"object": "list", "data": [{"object": "trace", "id": "trace_1"}]}') == "openai-agents"
    assert sniff(b'{"data": [{"object": "trace.span", "id": "span_1"}], "next_cursor": null}') == "openai-agents"
