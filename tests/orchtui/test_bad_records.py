"""One bad record costs nothing else: malformed-but-valid-JSON shapes seen in fuzzing and from real writers.

Each shape is a value of the wrong type somewhere in one span. The rule (architecture.md, issue 12): it is
reported with `file:line` and the field, read as unknown, and the record and its neighbours are kept; `check`,
`routes`, `eval` and `diff` never crash on it, and an internal error never exits 1 (the "findings" status).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from orchtui import cli
from orchtui.cli import EXIT_INTERNAL
from parsers.read import parse_bytes, read_path
from tests.orchtui.test_cli_check import run

TRACE = "0af7651916cd43dd8448eb211c80319c"


def request(trace_id: str = TRACE) -> dict:
    """A small valid OTLP/JSON request: an agent span and an LLM call under it."""
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeSpans": [{"scope": {"name": "s"}, "spans": [
            {"traceId": trace_id, "spanId": "b7ad6b7169203331", "name": "agent", "status": {"code": 1},
             "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
             "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": "AGENT"}}]},
            {"traceId": trace_id, "spanId": "b7ad6b7169203332", "parentSpanId": "b7ad6b7169203331", "name": "llm",
             "startTimeUnixNano": "1700000000100000000", "endTimeUnixNano": "1700000000900000000",
             "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
                            {"key": "llm.model_name", "value": {"stringValue": "gpt-4o"}},
                            {"key": "llm.token_count.prompt", "value": {"intValue": "10"}},
                            {"key": "llm.finish_reason", "value": {"stringValue": "stop"}}]}]}]}]}


def llm_span(doc: dict) -> dict:
    return doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]


def nested(depth: int) -> str:
    return '{"arrayValue":{"values":[' * depth + '{"stringValue":"x"}' + "]}}" * depth


# name -> (change to the LLM span, the field the error names)
SHAPES = {
    "status message a number": (lambda s: s.update(status={"code": 2, "message": 42}), "status.message"),
    "event attributes not an object": (
        lambda s: s.update(events=[{"name": "exception", "timeUnixNano": "1700000000200000000", "attributes": "boom"}]),
        "attributes",
    ),
    "a list as span name": (lambda s: s.update(name=["a", "b"]), "name"),
    "a number as span name": (lambda s: s.update(name=12), "name"),
    "start past year 9999": (lambda s: s.update(startTimeUnixNano="253402300800000000000"), "startTimeUnixNano"),
    "tokens above 2^64": (
        lambda s: s["attributes"].append({"key": "llm.token_count.completion", "value": {"intValue": str(2**64 + 5)}}),
        "completion tokens",
    ),
    "an inf token count": (
        lambda s: s["attributes"].append({"key": "llm.token_count.completion", "value": {"stringValue": "inf"}}),
        "completion tokens",
    ),
    "a NaN token count": (
        lambda s: s["attributes"].append({"key": "llm.token_count.total", "value": {"doubleValue": "NaN"}}),
        "total tokens",
    ),
    "attributes an object": (lambda s: s.update(attributes={"a": 1}), "attributes"),
    "events an object": (lambda s: s.update(events={"x": 1}), "events"),
    "an attribute key a number": (
        lambda s: s["attributes"].append({"key": 5, "value": {"stringValue": "v"}}),
        "attributes",
    ),
    "status a string": (lambda s: s.update(status="ERROR"), "status"),
    "an intValue that is not a number": (
        lambda s: s["attributes"].append({"key": "x", "value": {"intValue": "twelve"}}),
        "attribute",
    ),
}


def poisoned_file(tmp_path: Path, change, good: int = 30, bad_line: int = 11) -> Path:
    """`good` one-trace lines with the shape applied to line `bad_line`."""
    lines = []
    for number in range(1, good + 1):
        doc = request(f"{number:032x}")
        if number == bad_line:
            change(llm_span(doc))
        lines.append(json.dumps(doc))
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path




@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_a_bad_value_is_reported_with_its_line_and_field_and_its_neighbours_kept(tmp_path, shape):
    change, field = SHAPES[shape]
    path = poisoned_file(tmp_path, change)
    result = read_path(path)
    assert len({s.trace_id for s in result.spans}) == 30  # the record itself is kept, its neighbours too
    (error,) = result.errors
    assert error.source == f"{path}:11" and error.message.startswith(field)
    code, out, err = run("check", str(path), "--json")
    document = json.loads(out)
    assert code in (0, 1) and "Traceback" not in err
    assert len(document["traces"]) == 30 and document["errors"][0]["source"] == f"{path}:11"
    for command in (["routes", str(path), "--json"], ["eval", str(path), "--json"], ["diff", "agent", "llm", str(path)]):
        code, _, err = run(*command)
        assert code in (0, 1, 2) and "Traceback" not in err, command


def test_values_nested_past_any_reader_cost_their_record_only(tmp_path):
    lines = [json.dumps(request(f"{n:032x}")) for n in range(1, 6)]
    deep = json.dumps(request(f"{9:032x}"))
    lines.insert(0, deep.replace('{"stringValue": "gpt-4o"}', nested(990)))  # the first line, even
    lines.insert(3, deep.replace('{"stringValue": "gpt-4o"}', nested(70)))  # deeper than read, within JSON
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = read_path(path)
    assert len({s.trace_id for s in result.spans}) == 6
    assert [e.source for e in result.errors] == [f"{path}:1", f"{path}:4"]
    assert "not valid JSON" in result.errors[0].message and "nested deeper" in result.errors[1].message


def test_one_bad_span_of_a_request_costs_itself_only():
    doc = request()
    llm_span(doc)["spanId"] = None  # no id: not a span
    result = parse_bytes(json.dumps(doc).encode(), "req")
    assert [s.name for s in result.spans] == ["agent"]
    assert "span 1" in result.errors[0].message and "other spans kept" in result.errors[0].message


def test_phoenix_any_values_with_every_member_spelled_out_read_the_one_set():
    """Phoenix's REST API writes every AnyValue member, all but one null."""
    doc = request()
    llm_span(doc)["attributes"] = [
        {"key": "llm.token_count.prompt", "value": {"stringValue": None, "boolValue": None, "intValue": "12",
                                                    "doubleValue": None, "arrayValue": None, "kvlistValue": None}},
        {"key": "openinference.span.kind", "value": {"stringValue": "LLM", "intValue": None}},
    ]
    (llm,) = [s for s in parse_bytes(json.dumps(doc).encode(), "phoenix").spans if s.name == "llm"]
    assert llm.kind == "llm" and llm.tokens.prompt == 12


def test_a_root_that_ends_before_it_starts_has_no_negative_duration(tmp_path):
    doc = request()
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    del spans[1]
    spans[0]["startTimeUnixNano"] = "1700000002000000000"
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(doc) + "\n")
    _, out, _ = run("check", str(path), "--json")
    (trace,) = json.loads(out)["traces"]
    assert trace["duration_ms"] is None


def test_an_internal_error_has_its_own_exit_status(tmp_path, monkeypatch):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(request()) + "\n")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "check_document", broken, raising=False)
    monkeypatch.setattr(cli, "exceeds", broken, raising=False)
    code, _, err = run("check", str(path), "--json")
    assert code == EXIT_INTERNAL == 3 and "internal error" in err and "RuntimeError: a bug" in err


def test_a_shape_never_seen_is_still_one_record(tmp_path, monkeypatch):
    """Whatever a record parser raises (a bug of ours), the record is reported and its neighbours kept."""
    from parsers import otlp_json

    real = otlp_json.span_from_otlp

    def flaky(obj, *args, **kwargs):
        if obj.get("traceId") == f"{3:032x}":
            raise ZeroDivisionError("boom")
        return real(obj, *args, **kwargs)

    monkeypatch.setattr(otlp_json, "span_from_otlp", flaky)
    path = poisoned_file(tmp_path, lambda s: None)
    result = read_path(path)
    assert len({s.trace_id for s in result.spans}) == 29
    assert [e.source for e in result.errors] == [f"{path}:3"] * 2  # its two spans, each reported


def test_wrong_values_in_every_position_of_a_span_never_raise():
    """Each field of a span replaced by values of every JSON type: read, or reported, never raised."""
    values = [None, True, 0, -1, 1.5, 10**30, "", "x", [], [1], {}, {"a": 1}]
    fields = ["traceId", "spanId", "parentSpanId", "name", "startTimeUnixNano", "endTimeUnixNano", "status",
              "events", "attributes", "kind", "links"]
    for field in fields:
        for value in values:
            doc = request()
            llm_span(doc)[field] = copy.deepcopy(value)
            result = parse_bytes(json.dumps(doc).encode(), "fuzz")
            assert any(s.name == "agent" for s in result.spans), (field, value)


def test_a_trace_the_analysis_cannot_handle_costs_itself_only(monkeypatch):
    """A bug of ours on one trace: reported as an error naming the trace, every other trace still listed."""
    from orchtui.analysis import Analyzer
    from orchtui.analysis import trace as trace_module
    from orchtui.store import SpanStore

    real = trace_module.analyze

    def fragile(snapshot):
        if snapshot.trace_id == f"{2:032x}":
            raise ZeroDivisionError("boom")
        return real(snapshot)

    monkeypatch.setattr(trace_module, "analyze", fragile)
    store = SpanStore()
    for number in range(1, 4):
        store.add(parse_bytes(json.dumps(request(f"{number:032x}")).encode(), "t").spans)
    analyses = Analyzer(store).all()
    assert len(analyses) == 2
    assert [e.source for e in store.errors] == [f"trace {2:032x}"] and "ZeroDivisionError" in store.errors[0].message


def test_a_message_index_int_cannot_read_costs_that_key_only(tmp_path):
    """`str.isdigit` passes a superscript, which `int` refuses: the trace was lost from `check` ("no traces") by
    a ValueError in rebuilding the LLM call's messages. Such a key is now not a message index."""
    doc = request()
    llm_span(doc)["attributes"] += [
        {"key": "llm.output_messages.\u00b2.message.role", "value": {"stringValue": "assistant"}},
        {"key": "llm.output_messages.0.message.content", "value": {"stringValue": "done"}},
    ]
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(doc) + "\n")
    code, out, err = run("check", "--json", str(path))
    document = json.loads(out)
    assert code == 0, err
    assert [trace["trace_id"] for trace in document["traces"]] == [TRACE] and document["errors"] == []


def test_check_names_a_trace_it_could_not_analyse_when_it_was_the_only_one(tmp_path, monkeypatch):
    """Not "no traces": the table of errors says which trace failed and why, and the last word that spans were
    read but none could be analysed (exit 2, not 1)."""
    from orchtui.analysis import trace as trace_module

    def broken(snapshot, final=True):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(trace_module, "analyze", broken)
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(request()) + "\n")
    code, out, err = run("check", str(path))
    assert code == 2
    assert f"trace {TRACE}: could not be analysed (ZeroDivisionError: boom)" in out.replace("\n", " ")
    assert "no trace of" in err and "could be analysed" in err and "no traces" not in err


@pytest.mark.parametrize("key", ["\u00b2", "00"])
def test_digit_like_keys_of_a_phoenix_answer_stay_an_object(key):
    """Phoenix flattens lists into objects keyed "0".."n-1"; a key `int` reads as an index but that is not one of
    those ("²" passes isdigit and int refuses it; "00" reads as 0) is an object key, not a crash."""
    from parsers.phoenix_rest import _lists

    assert _lists({"0": {"a": 1}, "1": {"b": 2}}) == [{"a": 1}, {"b": 2}]
    assert _lists({key: "x", "1": "y"}) == {key: "x", "1": "y"}


def test_digit_like_numbers_in_any_field_read_as_unknown():
    from orchtui.remote.clickhouse import _int
    from parsers.values import to_ns

    assert to_ns("\u00b2" * 19) is None and to_ns("2025-01-01T00:00:00.1\u00b2Z") is None
    assert to_ns("1760000000000000000") == 1760000000000000000
    assert _int("-\u00b2") is None and _int("-12") == -12
