"""The live index a trace list reads: newest first, analysed off the UI thread, filtered, coalesced."""

from __future__ import annotations

from orchtui.demo import demo_spans
from orchtui.live import TraceIndex
from tests.spans import root, span


def test_newest_first_and_reordered_when_an_earlier_span_arrives():
    index = TraceIndex()
    index.add([span("old", None, trace="A", start=1_000, end=2_000), span("new", None, trace="B", start=5_000, end=6_000)])
    assert [a.name for a in index.rows()] == ["new", "old"]
    index.add([span("earlier", "x", trace="B", start=10, end=20)])  # B now starts before A
    assert [a.trace_id for a in index.rows()] == ["A", "B"]


def test_generation_moves_on_every_batch_and_counts_add_up():
    index = TraceIndex()
    before = index.generation
    spans = demo_spans(start_ns=1_700_000_000_000_000_000)
    for i in range(0, len(spans), 10):
        index.add(spans[i : i + 10])
    assert index.generation > before
    counts = index.counts()
    assert counts["traces"] == 8 and counts["spans"] == len(spans) and counts["errors"] == 0


def test_quick_filters_and_text_filter_on_the_demo():
    index = TraceIndex()
    index.add(demo_spans(start_ns=1_700_000_000_000_000_000))
    names = lambda rows: sorted(a.name for a in rows)  # noqa: E731
    assert names(index.rows("loops")) == ["policy_research"]
    assert names(index.rows("errors")) == ["policy_research"]
    assert names(index.rows("stop reasons")) == ["escalation_check", "policy_research", "summarize_contract"]
    assert names(index.rows(text="issue_refund")) == ["refund_request"] * 3
    assert names(index.rows(text="gpt-4.1")) == ["triage_handoff"]  # a model
    assert names(index.rows(text="lost in transit")) == ["refund_request"] * 3  # an attribute value
    assert index.rows(text="no such thing") == []


def test_a_trace_grows_in_place_while_it_runs():
    index = TraceIndex()
    running = root("live_run")
    running.end_ns = None
    index.add([running])
    assert index.rows()[0].in_progress and index.rows()[0].span_count == 1
    index.add([span("step", "root", kind="tool", tool_name="t", tool_args={})])
    (row,) = index.rows()
    assert row.span_count == 2 and row.route == ["t"]


def test_evicted_traces_leave_the_index_and_are_counted():
    from orchtui.store import SpanStore

    index = TraceIndex(SpanStore(max_spans=4))
    index.add([span("a1", None, trace="A", start=1), span("a2", "x", trace="A", start=2)])
    index.add([span("b1", None, trace="B", start=3), span("b2", "x", trace="B", start=4)])
    index.add([span("c1", None, trace="C", start=5)])
    assert [a.trace_id for a in index.rows()] == ["C", "B"]
    assert index.get("A") is None
    assert index.counts()["evicted"] == 1


def test_a_critical_finding_is_announced_once_even_when_it_was_a_warning_before():
    from tests.spans import llm

    index = TraceIndex()
    running = root("run")
    running.end_ns = None
    index.add([running, llm(finish=("length",))])  # running: truncation is only a warning yet
    assert index.take_alerts() == []
    index.add([root("run")])  # the root ended: the truncated call was the final one
    (alert,) = index.take_alerts()
    assert alert[1] == "run" and alert[2].code == "stop_reason.truncated" and alert[2].severity == "critical"
    index.add([span("late", "root")])
    assert index.take_alerts() == []


def test_the_running_findings_count_matches_a_recount_through_updates_and_eviction():
    from orchtui.store import SpanStore

    index = TraceIndex(SpanStore(max_spans=30))
    spans = demo_spans(start_ns=1_700_000_000_000_000_000)
    for i in range(0, len(spans), 3):  # traces grow, findings appear, change severity, traces get evicted
        index.add(spans[i : i + 3])
        recount = sum(1 for a in index.rows() for f in a.findings if f.severity != "info")
        assert index.counts()["findings"] == recount
    assert index.counts()["evicted"] > 0
