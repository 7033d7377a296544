"""Format detection by content, gzip, and the reader's error reporting."""

from __future__ import annotations

import gzip

import pytest

from parsers import parse_bytes, read_path
from parsers.sniff import sniff
from parsers.values import normalize_id, ns_to_iso, to_ns
from tests.conftest import DATA

EXPECTED_FORMATS = {
    "langgraph/langgraph-openinference.otlp.jsonl": "otlp-json",
    "otlp/otlp-proto-example-trace.json": "otlp-json",
    "otlp/otel-demo-collector-file-exporter.jsonl": "otlp-json",
    "langgraph/langgraph-traceai.otlp.pb": "otlp-proto",
    "langgraph/langgraph-traceai.console.json": "otel-console",
    "vercel/ai-sdk-v6-all-spans.json": "otel-js-spans",
    "langsmith/langsmith_py_wrap_openai_.json": "langsmith",
    "openai-agents/agents-native.jsonl": "openai-agents",
}


@pytest.mark.parametrize(("path", "expected"), EXPECTED_FORMATS.items())
def test_formats_are_detected_by_content(path, expected):
    assert sniff((DATA / path).read_bytes()) == expected


@pytest.mark.parametrize("first_line", [b"{}", b"42", b'{"resourceSpans_": []}', b"\x00\xff garbage", b'["not", "a", "record"]'])
def test_a_damaged_first_record_does_not_hide_the_rest_of_a_json_lines_file(first_line):
    """Found by bench/fuzz.py: the format was decided by the first line alone, so one damaged record at the top
    lost every other line of the file."""
    data = (DATA / "langgraph/langgraph-openinference.otlp.jsonl").read_bytes()
    whole = parse_bytes(data, "whole.jsonl")
    damaged = parse_bytes(first_line + b"\n" + data, "damaged.jsonl")
    assert sniff(first_line + b"\n" + data) == "otlp-json"
    assert [s.span_id for s in damaged.spans] == [s.span_id for s in whole.spans]
    assert [str(e.source).rsplit(":", 1)[-1] for e in damaged.errors] == ["1"]


def test_extension_does_not_matter_and_gzip_is_transparent(tmp_path):
    data = (DATA / "langgraph/langgraph-openinference.otlp.jsonl").read_bytes()
    target = tmp_path / "capture.txt"
    target.write_bytes(gzip.compress(data))
    result = read_path(target)
    assert result.format == "otlp-json" and len(result.spans) == 78 and result.errors == []


def test_truncated_gzip_keeps_what_decompressed():
    data = (DATA / "langgraph/langgraph-openinference.otlp.jsonl").read_bytes()
    compressed = gzip.compress(data)
    result = parse_bytes(compressed[: len(compressed) * 2 // 3], "cut.gz")
    assert result.spans, "the complete lines before the cut are read"
    assert any("truncated" in e.message for e in result.errors)


def test_unreadable_inputs_are_errors_not_exceptions(tmp_path):
    missing = read_path(tmp_path / "nope.json")
    assert missing.spans == [] and "cannot read" in missing.errors[0].message
    assert parse_bytes(b"hello world", "x").errors[0].message.startswith("unrecognised format")
    assert parse_bytes(b"", "empty").errors == []
    assert parse_bytes(b'{"resourceSpans": [', "broken").errors


def test_ids_and_times():
    assert normalize_id("0xABCDEF0123456789") == "abcdef0123456789"
    assert normalize_id(bytes.fromhex("00ff")) == "00ff"
    assert normalize_id(b"\x00" * 8) is None and normalize_id("") is None
    assert normalize_id("trace_9564883609c442a381d301f300641fb7") == "trace_9564883609c442a381d301f300641fb7"
    assert normalize_id("d0d84d31-923d-4cb5-94a8-40a0a0087578") == "d0d84d31-923d-4cb5-94a8-40a0a0087578"
    assert to_ns("2026-11-24T07:24:05.652029123Z") == to_ns("2026-11-24T07:24:05Z") + 652029123
    assert to_ns("2026-11-24T07:24:05.652029+00:00") == to_ns("2026-11-24T07:24:05.652029Z")
    assert to_ns("2024-10-11T20:58:23.298773") == to_ns("2024-10-11T20:58:23.298773Z")  # no zone: UTC
    assert to_ns([1700000000, 5]) == 1700000000_000000005
    assert to_ns(1728803137170) == 1728803137170_000000  # epoch ms (LangSmith JS)
    assert to_ns("1544712660000000000") == 1544712660000000000
    assert to_ns(None) is None and to_ns("not a time") is None
    assert ns_to_iso(1544712660000000000) == "2018-12-13T14:51:00.000000Z"


def test_streaming_read_gives_the_same_spans_and_real_line_numbers(tmp_path):
    from parsers.read import iter_read_path

    data = (DATA / "otlp/otel-demo-collector-file-exporter.jsonl").read_bytes()
    lines = data.split(b"\n")
    lines.insert(50, b"garbage in the middle")
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join(lines))
    parts = list(iter_read_path(path, chunk_bytes=100_000))
    assert len(parts) > 5
    assert sum(len(result.spans) for result, _ in parts) == 547
    assert [e.source for result, _ in parts for e in result.errors] == [f"{path}:51"]
    assert parts[-1][1] == path.stat().st_size  # progress reaches the whole file


def test_streaming_read_of_a_truncated_gzip_keeps_the_complete_lines(tmp_path):
    from parsers.read import iter_read_path

    data = (DATA / "langgraph/langgraph-openinference.otlp.jsonl").read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(data)[:-4000])
    parts = list(iter_read_path(path, chunk_bytes=10_000))  # chunks shorter than one line
    messages = [e.message for result, _ in parts for e in result.errors]
    assert sum(len(result.spans) for result, _ in parts) >= 23  # at least the first whole trace
    assert any("truncated" in m for m in messages)
