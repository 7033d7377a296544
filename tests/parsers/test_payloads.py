"""Payloads that stay in the file (parsers/payloads.py): evicted, read back identical, never an exception.

The fidelity tests run over every fixture: whatever the detail pane, the evaluators or an export read from a span
whose payload went back to its file must be what they read from a span that kept it.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import orjson
import pytest

from orchtui.analysing_sink import AnalysingSink
from orchtui.analysis import Analyzer
from orchtui.evaluation import eval_document, evaluate_trace
from orchtui.loading import load_paths
from orchtui.store import SpanStore
from parsers import payloads
from parsers.read import iter_read_path
from parsers.span import Span
from tests.golden import ROOT, fixtures



def read_spans(path: Path, chunk_bytes: int = 4 << 20) -> list[Span]:
    return [span for result, _ in iter_read_path(path, chunk_bytes) for span in result.spans]


# Fixtures whose spans can leave their payload in the file (OTLP/JSON lines in plain files).
STREAMED = [f for f in fixtures() if any(span.evict_payload() for span in read_spans(ROOT / f))]


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    payloads.forget()
    monkeypatch.setattr(payloads, "stats", payloads.PayloadStats())
    yield
    payloads.forget()


def payload_of(span: Span) -> dict:
    """Everything payload-shaped a reader can see, messages rebuilt from it included."""
    seen = {name: getattr(span, name) for name in ("attributes", "events", "input", "output", "tool_args")}
    seen["input_messages"] = span.input_messages
    seen["output_messages"] = span.output_messages
    return seen


@pytest.mark.parametrize("fixture", STREAMED, ids=str)
def test_an_evicted_payload_reads_back_identical(fixture: Path) -> None:
    kept = [payload_of(span) for span in read_spans(ROOT / fixture)]
    evicted = read_spans(ROOT / fixture, chunk_bytes=2048)  # lines in many chunks: offsets past the first chunk
    assert sum(span.evict_payload() for span in evicted) == len(evicted)
    assert [payload_of(span) for span in evicted] == kept
    assert payloads.stats.lost == 0


def test_a_write_to_an_evicted_span_keeps_the_rest_of_its_payload() -> None:
    kept = read_spans(ROOT / "tests/data/otlp/otel-demo-collector-file-exporter.jsonl")
    spans = read_spans(ROOT / "tests/data/otlp/otel-demo-collector-file-exporter.jsonl")
    span = next(span for span in spans if span.attributes)
    expected = payload_of(kept[spans.index(span)])
    assert span.evict_payload() and span.payload_evicted
    span.output = "rewritten"
    assert not span.payload_evicted
    assert payload_of(span) == {**expected, "output": "rewritten"}


def test_lines_of_plain_and_gzip_files_are_evictable_a_document_is_not(tmp_path: Path) -> None:
    source = ROOT / "tests/data/otlp/otel-demo-collector-file-exporter.jsonl"
    plain = read_spans(source)
    assert plain and all(span.evict_payload() for span in plain)
    zipped = tmp_path / "spans.jsonl.gz"  # read back from its seek points (parsers/gzip_seek.py)
    zipped.write_bytes(gzip.compress(source.read_bytes()))
    spans = read_spans(zipped)
    assert spans and all(span.evict_payload() for span in spans)
    document = tmp_path / "one.json"  # a single pretty-printed request: no lines to return to
    document.write_bytes(orjson.dumps(next(
        orjson.loads(line) for line in source.read_bytes().splitlines() if b'"resourceSpans"' in line
    ), option=orjson.OPT_INDENT_2))
    spans = read_spans(document)
    assert spans and not any(span.evict_payload() for span in spans)


def test_siblings_of_one_line_cost_one_read(tmp_path: Path) -> None:
    spans = read_spans(ROOT / "tests/data/otlp/otel-demo-collector-file-exporter.jsonl")
    lines = {span.source.line for span in spans}
    for span in spans:
        span.evict_payload()
    for span in spans:
        span.attributes  # noqa: B018 - the read is the test
    assert payloads.stats.reads == len(lines)
    assert payloads.stats.hits >= len(spans) - len(lines)
    assert not any(span.payload_evicted for span in spans)


def test_a_rewritten_file_says_so_in_the_payload(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    shutil.copy(ROOT / "tests/data/otlp/otel-demo-collector-file-exporter.jsonl", path)
    spans = read_spans(path)
    for span in spans:
        span.evict_payload()
    path.write_bytes(b"garbage\n" * 4)
    first = spans[0]
    assert set(first.attributes) == {payloads.LOST_KEY}
    assert "does not parse" in first.attributes[payloads.LOST_KEY]
    assert first.input is None and first.events == [] and first.output_messages == []
    os.remove(path)
    payloads.forget()
    other = next(span for span in spans if span.payload_evicted)
    assert "cannot read it" in other.attributes[payloads.LOST_KEY]
    assert payloads.stats.lost >= 2


def _evaluations(fixture: Path, evict: bool) -> dict:
    store = SpanStore()
    if evict:
        sink = AnalysingSink(store)
        load_paths([str(ROOT / fixture)], sink)
        analyses = sink.analyses()
    else:
        load_paths([str(ROOT / fixture)], store)
        analyses = sorted(Analyzer(store).all(), key=lambda a: (a.start_ns or 0, a.trace_id))
    return eval_document([evaluate_trace(analysis, []) for analysis in analyses], store.errors)


@pytest.mark.parametrize("fixture", STREAMED, ids=str)
def test_evaluators_read_the_same_from_the_file(fixture: Path) -> None:
    assert _evaluations(fixture, evict=True) == _evaluations(fixture, evict=False)


def test_payloads_read_back_stay_bounded(monkeypatch) -> None:
    monkeypatch.setattr(payloads, "RESTORED_SPANS", 3)
    spans = read_spans(ROOT / "tests/data/otlp/otel-demo-collector-file-exporter.jsonl")
    assert len(spans) > 5
    for span in spans:
        span.evict_payload()
    for span in spans:
        span.attributes  # noqa: B018 - the read is the test
    assert [span.payload_evicted for span in spans] == [True] * (len(spans) - 3) + [False] * 3
    assert spans[0].attributes == read_spans(ROOT / "tests/data/otlp/otel-demo-collector-file-exporter.jsonl")[0].attributes


@pytest.mark.parametrize(
    ("fixture", "reads"),
    [
        ("tests/data/langgraph/langgraph-openinference.otlp.jsonl", 0),  # each trace complete when its root comes
        ("tests/data/otlp/otel-demo-collector-file-exporter.jsonl", None),  # spans after their root: read back
    ],
)
def test_check_and_eval_leave_payloads_in_the_file_and_eval_sees_each_trace_with_them(monkeypatch, fixture, reads) -> None:
    """`eval` evaluates each trace when it is analysed, while its payloads are in memory (orchtui/evaluating.py):
    then they go back to the file like `check`'s (loading them all had held 2.7x the file: 477 MB for 100k
    spans), and a line is parsed again only for a trace that changed after it was analysed (evicting and reading
    everything back had parsed every line twice: 12.3 s against 7.7 s)."""
    from orchtui.cli import _load

    monkeypatch.setattr(payloads, "stats", payloads.PayloadStats())
    handed_on: list[tuple[str, int, bool]] = []

    def on_analysed(analysis) -> None:
        with_payloads = not any(span.payload_evicted for span in analysis.tree.ordered)
        handed_on.append((analysis.trace_id, analysis.version, with_payloads))

    for hook in (None, on_analysed):
        store, _, analyses = _load([str(ROOT / fixture)], on_analysed=hook)
        spans = [span for snapshot in store.snapshots() for span in snapshot.spans]
        assert analyses and spans and {span.payload_evicted for span in spans} == {True}
    assert {(a.trace_id, a.version) for a in analyses} <= {(trace, version) for trace, version, _ in handed_on}
    assert all(with_payloads for _, _, with_payloads in handed_on)
    if reads is not None:
        assert len(handed_on) == len(analyses) and payloads.stats.reads == reads


def test_a_line_rewritten_as_something_hostile_costs_its_payload_only(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("parsers.jsonl.MAX_REREAD_BYTES", 4096)
    path = tmp_path / "spans.jsonl"
    shutil.copy(ROOT / "tests/data/otlp/otel-demo-collector-file-exporter.jsonl", path)
    spans = read_spans(path)
    for span in spans:
        span.evict_payload()
    size = path.stat().st_size
    nested = b"[" * 100_000 + b"]" * 100_000  # deeper than any parser goes
    path.write_bytes((b'{"resourceSpans": "' + b"x" * 10_000 + b'"}\n' + nested + b"\n").ljust(size, b" "))
    for span in spans:  # an endless line, a nest too deep: each read as lost, none raises
        assert payloads.LOST_KEY in span.attributes and span.events == [] and span.output is None


@pytest.mark.parametrize("fixture", STREAMED, ids=str)
def test_y_exports_the_same_trace_from_the_file(fixture: Path) -> None:
    """`y` writes a trace as an OTLP request: from spans whose payloads are in the file, the same bytes."""
    from orchtui.export import trace_request

    kept = read_spans(ROOT / fixture)
    evicted = read_spans(ROOT / fixture)
    for span in evicted:
        span.evict_payload()
    assert orjson.dumps(trace_request(evicted)) == orjson.dumps(trace_request(kept))
