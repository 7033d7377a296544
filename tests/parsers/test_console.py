"""The Python SDK ConsoleSpanExporter: the same traces as their OTLP/JSON twins, and damaged or mixed output."""

from __future__ import annotations

import orjson
import pytest

from parsers import read_path
from parsers.console import parse, parse_record
from parsers.read import iter_read_path
from parsers.span import Source
from tests.conftest import DATA
from tests.spans import span_facts

RUNS = ["langgraph/langgraph-openinference", "langgraph/langgraph-traceai"]


def console_facts(span):
    return span_facts(span, with_times=False)


def lines_of(text: bytes) -> list[bytes]:
    return text.split(b"\n")


def object_starts(data: bytes) -> list[int]:
    """1-based line numbers of the lines that open a span object."""
    return [number for number, line in enumerate(lines_of(data), 1) if line == b"{"]


@pytest.mark.parametrize("run", RUNS)
def test_console_output_gives_the_spans_of_its_otlp_twin(run):
    console = read_path(DATA / f"{run}.console.json")
    otlp = {span.span_id: span for span in read_path(DATA / f"{run}.otlp.jsonl").spans}
    assert console.format == "otel-console" and console.errors == [] and console.skipped == {}
    assert len(console.spans) == 78 and {span.span_id for span in console.spans} == otlp.keys()
    for span in console.spans:
        twin = otlp[span.span_id]
        assert console_facts(span) == console_facts(twin), span.name
        # ISO times carry microseconds only
        assert abs(span.start_ns - twin.start_ns) < 1000 and abs(span.end_ns - twin.end_ns) < 1000


def test_console_ids_are_normalized_and_values_are_read():
    spans = read_path(DATA / "langgraph/langgraph-openinference.console.json").spans
    first = spans[0]
    assert (first.trace_id, first.span_id, first.parent_id) == (
        "39aeab4fced0af4f1b3481e910b3358d",
        "120db63f0e970ac0",
        "44fdd3109a2bcee8",
    )
    assert first.graph_step == 1 and first.graph_node == "agent"
    llm_calls = [s for s in spans if s.kind == "llm"]
    assert [s.stop_reason for s in llm_calls].count("length") == 1 and len(llm_calls) == 10
    (review,) = [s for s in spans if s.tool_name == "compliance_review"]
    assert review.tool_args == {"amount": 25000, "vendor": "Acme"}
    exceptions = [event for span in spans for event in span.exception_events]
    recursion = [e for e in exceptions if "GraphRecursionError" in e.attributes["exception.type"]]
    assert recursion and recursion[0].time_ns is not None


def test_a_corrupt_object_in_the_middle_costs_itself_only(tmp_path):
    data = (DATA / "langgraph/langgraph-traceai.console.json").read_bytes()
    lines = lines_of(data)
    starts = object_starts(data)
    broken_start = starts[10]
    assert lines[broken_start].startswith(b'    "name"')
    lines[broken_start] = lines[broken_start].rstrip(b",")  # drop the comma after "name"
    path = tmp_path / "spans.txt"
    path.write_bytes(b"\n".join(lines))
    result = read_path(path)
    assert result.format == "otel-console" and len(result.spans) == 77
    (error,) = result.errors
    assert error.source == f"{path}:{broken_start}" and "not valid JSON" in error.message


def test_an_object_never_closed_does_not_swallow_the_next_one():
    data = (DATA / "langgraph/langgraph-traceai.console.json").read_bytes()
    lines = lines_of(data)
    starts = object_starts(data)
    del lines[starts[6] + 3 : starts[7] - 1]  # a writer that died mid-object, then a new process appended
    result = parse(b"\n".join(lines), "restarted.json")
    assert len(result.spans) == 77
    (error,) = result.errors
    assert error.source == f"restarted.json:{starts[6]}" and error.message == "object never closed"


def test_truncated_tail_is_reported_as_a_file_being_written():
    data = (DATA / "langgraph/langgraph-traceai.console.json").read_bytes()
    last_start = object_starts(data)[-1]
    cut = data[: data.rindex(b'"attributes"')]
    result = parse(cut, "live.json")
    assert len(result.spans) == 77
    (error,) = result.errors
    assert error.source == f"live.json:{last_start}" and "incomplete last object" in error.message
    assert "still being written" in error.message


def test_program_prints_between_objects_are_skipped_and_a_headless_fragment_is_an_error():
    data = (DATA / "langgraph/langgraph-openinference.console.json").read_bytes()
    first_end = data.index(b"\n}\n") + 3
    mixed = b"starting agent...\n" + data[:first_end] + b"step 1 done\n\n" + data[first_end:]
    result = parse(mixed, "stdout.log")
    assert len(result.spans) == 78 and result.errors == []
    assert result.skipped == {"lines outside span objects": 2}
    second_start = data.index(b"\n{\n", first_end - 3) + 1
    headless = parse(data[second_start + 2 :], "tail.log")  # a file whose head was cut off mid-object
    assert len(headless.spans) == 76 and headless.errors[0].source == "tail.log:1"
    assert "start is missing" in headless.errors[0].message


def test_compact_lines_and_a_json_array_are_accepted(tmp_path):
    data = (DATA / "langgraph/langgraph-traceai.console.json").read_bytes()
    expected = [console_facts(s) for s in parse(data, "x").spans]
    objects = [orjson.loads(block) for block in data.replace(b"\n}\n{", b"\n}\x00{").split(b"\x00")]
    assert len(objects) == 78
    compact = tmp_path / "compact.jsonl"
    compact.write_bytes(b"\n".join(orjson.dumps(o) for o in objects) + b"\n")
    as_lines = read_path(compact)
    assert as_lines.format == "otel-console" and [console_facts(s) for s in as_lines.spans] == expected
    streamed = [s for result, _ in iter_read_path(compact, chunk_bytes=20_000) for s in result.spans]
    assert [console_facts(s) for s in streamed] == expected
    as_array = parse(orjson.dumps(objects, option=orjson.OPT_INDENT_2), "array.json")
    assert [console_facts(s) for s in as_array.spans] == expected
    assert str(as_array.spans[3].source) == "array.json[3]"
    (one,) = parse_record(objects[0], Source("obj"))
    assert console_facts(one) == expected[0]


def test_bad_compact_lines_are_errors_with_their_line_even_the_first():
    good = b'{"context": {"trace_id": "0xab", "span_id": "0xcd"}, "name": "ok"}'
    result = parse(good + b'\n{"name": "no context"}\n', "f")
    assert [s.name for s in result.spans] == ["ok"]
    assert result.errors[0].source == "f:2" and "no context" in result.errors[0].message
    broken_first = parse(b'{"context": {"trace_id\n' + good + b"\n" + good[:30], "g")
    assert [s.name for s in broken_first.spans] == ["ok"]
    assert [(e.source, e.message.split(":")[0]) for e in broken_first.errors] == [
        ("g:1", "not valid JSON"),
        ("g:3", "incomplete last line (is the file still being written?)"),
    ]
