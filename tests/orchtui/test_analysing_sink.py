"""Loading for the headless commands (orchtui/analysing_sink.py): each trace is analysed once, when its root ends,
and its payloads then go back to the file. A collector file interleaves traces over many lines: a trace spread
over many chunks must not be analysed, and its payloads read back, at every chunk (that made an interleaved
30k-span file take 18.6 s instead of 1.1 s)."""

from __future__ import annotations

import gc

import orjson
import pytest

import parsers.read
from orchtui.analysing_sink import AnalysingSink
from orchtui.analysis.calls import canonical_json
from orchtui.demo import demo_requests
from orchtui.live import TraceIndex
from orchtui.loading import load_paths
from orchtui.report import check_document
from orchtui.store import SpanStore
from parsers import payloads
from parsers.span import Span

START_NS = 1_764_000_000_000_000_000


def interleaved_lines() -> bytes:
    """The demo's traces as an exporter with a batch processor writes them: one span a line, spans as they end
    (children before their root), the traces' lines interleaved."""
    queues = []
    for request in demo_requests(start_ns=START_NS):
        for resource_spans in request["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                spans = sorted(scope_spans["spans"], key=lambda span: int(span["endTimeUnixNano"]))
                queues.append([(resource_spans.get("resource", {}), scope_spans.get("scope", {}), span) for span in spans])
    lines = []
    while any(queues):
        for queue in queues:
            if queue:
                resource, scope, span = queue.pop(0)
                lines.append(orjson.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": scope, "spans": [span]}]}]}))
    return b"\n".join(lines) + b"\n"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    payloads.forget()
    monkeypatch.setattr(payloads, "stats", payloads.PayloadStats())
    monkeypatch.setattr(parsers.read.iter_read_path, "__defaults__", (2048,))  # a chunk or two a trace's line
    yield
    payloads.forget()


def load(path) -> tuple[SpanStore, list]:
    store = SpanStore()
    sink = AnalysingSink(store)
    load_paths([str(path)], sink)
    return store, sink.analyses()


def test_an_interleaved_file_is_analysed_once_a_trace_and_never_read_back(tmp_path) -> None:
    whole = tmp_path / "requests.jsonl"
    whole.write_bytes(b"".join(orjson.dumps(request) + b"\n" for request in demo_requests(start_ns=START_NS)))
    interleaved = tmp_path / "interleaved.jsonl"
    interleaved.write_bytes(interleaved_lines())
    expected_store, expected = load(whole)

    analysed = []
    original = AnalysingSink.add

    def counting(sink, spans):
        before = {trace_id: sink.analyzer._cache.get(trace_id) for trace_id in sink.store.trace_ids()}
        changed = original(sink, spans)
        analysed.extend(t for t in sink.store.trace_ids() if sink.analyzer._cache.get(t) is not before.get(t))
        return changed

    AnalysingSink.add = counting
    try:
        store, analyses = load(interleaved)
    finally:
        AnalysingSink.add = original
    assert payloads.stats.reads == 0  # nothing evicted was needed again while loading
    assert sorted(analysed) == sorted(set(analysed))  # once a trace while loading
    spans = [span for snapshot in store.snapshots() for span in snapshot.spans]
    assert all(span.payload_evicted for span in spans)
    assert check_document(analyses, store.errors) == check_document(expected, expected_store.errors)


def reachable_without_spans(roots: list) -> set[str]:
    """Every string the analyses reach without going through a span (whose payload is in the file)."""
    found: set[str] = set()
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (Span, type)):
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            found.add(obj)
        else:
            stack.extend(gc.get_referents(obj))
    return found


def test_an_analysed_trace_holds_no_payload_and_reads_it_back_when_asked(tmp_path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"".join(orjson.dumps(request) + b"\n" for request in demo_requests(start_ns=START_NS)))
    _, analyses = load(path)
    kept_sink = AnalysingSink(SpanStore(), evict=False)
    load_paths([str(path)], kept_sink)
    kept = kept_sink.analyses()
    calls = [call for analysis in analyses for call in analysis.tool_calls]
    kept_calls = [call for analysis in kept for call in analysis.tool_calls]
    payload_texts = {text for call in kept_calls for text in (call.result, canonical_json(call.args)) if text and len(text) > 12}
    assert len(payload_texts) > 10
    assert not reachable_without_spans(analyses) & payload_texts
    assert all(call.span.payload_evicted for call in calls)
    assert calls == kept_calls  # arguments and results read back from the file


def test_the_live_index_keeps_a_running_traces_payloads_until_it_completes(tmp_path) -> None:
    path = tmp_path / "interleaved.jsonl"
    path.write_bytes(interleaved_lines())
    index = TraceIndex()
    load_paths([str(path)], index)
    assert payloads.stats.reads == 0
    for snapshot in index.store.snapshots():
        analysis = index.get(snapshot.trace_id)
        assert {span.payload_evicted for span in snapshot.spans} == {not analysis.in_progress}
