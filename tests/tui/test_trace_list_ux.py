"""The trace list as a k9s user expects it: column headers, sorting, follow mode, names and model names that are
not cut while there is room, one clock, a service column and filter; and a trace named after its root only when
the root is known (issue 13, defects 5, 7 and 9)."""

from __future__ import annotations

import orjson

from orchtui.sources.factory import sources_for
from orchtui.analysis import Analyzer
from orchtui.export import trace_request
from orchtui.live import TraceIndex
from orchtui.store import SpanStore
from tests.spans import llm, root, span
from tests.tui.conftest import DEMO_START_NS, demo_index, settle
from tui.app import OrchApp
from tui.render import step_label

SIZE = (120, 36)
MS = 1_000_000


async def arrive(pilot, index: TraceIndex, spans: list) -> None:
    """Add spans as a live source would and wait until the list has shown them (the app polls the index)."""
    index.add(spans)
    for _ in range(100):
        await settle(pilot)
        if pilot.app.rows_settled and pilot.app._seen_generation == index.generation:
            return
        await pilot.pause(0.02)
    raise AssertionError("the list never caught up")


def run(name: str, trace: str, start_ms: int, duration_ms: int, *, service: str | None = None) -> list:
    """A finished two-span trace starting `start_ms` after the demo start."""
    start = DEMO_START_NS + start_ms * MS
    top = span(name, None, trace=trace, span_id=f"{trace}-root", kind="agent", start=start, end=start + duration_ms * MS, service=service)
    child = span("step", top.span_id, trace=trace, start=start + MS, end=start + 2 * MS, service=service)
    return [top, child]


async def test_the_list_has_column_headers_with_the_sort_and_the_zone(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header = demo_app.trace_list.render_line(0).text
        for column in ("name", "start UTC▼", "route", "duration", "spans", "tokens", "cost", "flags"):
            assert column in header
        assert "refund_request" in demo_app.trace_list.render_line(1).text


async def test_s_cycles_the_sort_column_and_S_reverses_it(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        durations = [row.duration_ms for row in demo_app.trace_list.rows]
        assert durations == sorted(durations, reverse=True)
        assert "duration▼" in demo_app.trace_list.render_line(0).text
        assert demo_app.trace_list.rows[0].name == "policy_research"  # 6.72 s, the longest
        await pilot.press("S")
        await settle(pilot)
        assert [row.duration_ms for row in demo_app.trace_list.rows] == sorted(durations)
        assert "duration▲" in demo_app.trace_list.render_line(0).text
        await pilot.press("s", "s")  # tokens, cost
        await settle(pilot)
        costs = [row.cost_usd for row in demo_app.trace_list.rows]
        assert costs == sorted(costs) and "cost▲" in demo_app.trace_list.render_line(0).text
        await pilot.press("s", "s")  # spans, flags
        await settle(pilot)
        assert "flags▲" in demo_app.trace_list.render_line(0).text
        await pilot.press("S")
        await settle(pilot)
        assert demo_app.trace_list.rows[0].name == "policy_research"  # ERR LOOP STOP: the worst flags first


async def test_follow_keeps_the_newest_trace_selected_until_the_user_moves(tmp_path):
    index = demo_index()
    app = OrchApp(index, save_dir=tmp_path, sources=sources_for([str(tmp_path / "spans.jsonl")], follow=True))  # a live source: follow is on
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.trace_list.follow and "FOLLOW" in app.trace_list.render_line(0).text
        await pilot.press("s")  # sorted by duration, the newest trace is still the one selected
        await settle(pilot)
        await arrive(pilot, index, run("brand_new", "n1", 60_000, 5))
        assert app.trace_list.current.name == "brand_new" and app.step_tree.analysis.name == "brand_new"
        await pilot.press("k")  # the user moves: following stops
        assert not app.trace_list.follow and "FOLLOW" not in app.trace_list.render_line(0).text
        moved_to = app.trace_list.current.trace_id
        await arrive(pilot, index, run("newer_still", "n2", 61_000, 5))
        assert app.trace_list.current.trace_id == moved_to
        await pilot.press("F")  # follow again: the newest is selected now and as traces arrive
        assert app.trace_list.current.name == "newer_still"
        await arrive(pilot, index, run("newest", "n3", 62_000, 5))
        assert app.trace_list.current.name == "newest"


async def test_open_selects_the_newest_trace_as_the_list_fills(tmp_path):
    index = TraceIndex()
    index.add(run("older", "o1", 0, 5))
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.trace_list.follow
        await arrive(pilot, index, run("newer", "o2", 1_000, 5))  # a later chunk of the file: a newer trace
        assert app.trace_list.current.name == "newer"


async def test_names_are_not_cut_while_blank_space_sits_beside_them(tmp_path):
    index = TraceIndex()
    long_name = "customer_support_escalation_with_refund_review"  # 46 characters
    index.add(run(long_name, "l1", 0, 5))
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert long_name in app.trace_list.render_line(1).text
    async with OrchApp(index, save_dir=tmp_path).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert long_name in pilot.app.trace_list.render_line(1).text


def test_the_step_tree_keeps_model_names_and_shows_the_waterfall_at_120_columns():
    spans = [root(), llm(finish=("tool_calls",), calls=[("lookup", {})])]
    store = SpanStore()
    store.add(spans)
    (analysis,) = Analyzer(store).all()
    label = step_label(spans[1], analysis, depth=1, width=64)  # the tree's width in a 120-column terminal
    assert "gpt-4o-mini" in label.plain and "█" in label.plain
    assert label.cell_len <= 64 - 3


async def test_times_show_a_date_when_not_today_and_the_zone(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "11-24 16:00" in demo_app.trace_list.render_line(1).text  # the demo ran on 2025-11-24 (UTC)
        assert "start UTC" in demo_app.trace_list.render_line(0).text


async def test_a_service_column_and_filter_when_there_are_several_services(tmp_path):
    index = TraceIndex()
    index.add(run("checkout", "a1", 0, 5, service="payments-api") + run("search", "b1", 1_000, 5, service="search-svc"))
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "service" in app.trace_list.render_line(0).text
        assert "payments-api" in app.trace_list.render_line(2).text
        await pilot.press("v")
        await settle(pilot)
        assert [row.name for row in app.trace_list.rows] == ["checkout"]
        assert "service:payments-api" in app.trace_list.render_line(0).text
        await pilot.press("v", "v")  # search-svc, then all again
        await settle(pilot)
        assert len(app.trace_list.rows) == 2


async def test_one_service_has_no_service_column(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "service" not in demo_app.trace_list.render_line(0).text


async def test_a_running_trace_is_named_after_its_earliest_span_until_the_root_arrives(tmp_path):
    index = TraceIndex()
    base = DEMO_START_NS
    # The root's children are exported as they end: the later-starting one arrives first.
    late = span("write_answer", "r", trace="w1", span_id="late", start=base + 5 * MS, end=base + 6 * MS)
    early = span("plan", "r", trace="w1", span_id="early", start=base + 1 * MS, end=base + 2 * MS)
    index.add([late])
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.trace_list.rows[0].name == "(waiting for root) write_answer"
        await arrive(pilot, index, [early])
        (row,) = app.trace_list.rows
        assert row.name == "(waiting for root) plan" and row.in_progress
        assert "◌" in app.trace_list.render_line(1).text
        await arrive(pilot, index, [span("support_agent", None, trace="w1", span_id="r", kind="agent", start=base, end=base + 7 * MS)])
        (row,) = app.trace_list.rows
        assert row.name == "support_agent" and not row.in_progress


async def test_a_saved_trace_whose_root_is_missing_is_not_running_forever(tmp_path):
    base = DEMO_START_NS
    spans = [
        span("plan", "gone", trace="m1", span_id="a", start=base + 1 * MS, end=base + 2 * MS),
        span("write_answer", "gone", trace="m1", span_id="b", start=base + 5 * MS, end=base + 9 * MS),
    ]
    index = TraceIndex()
    index.add(spans)
    index.seal()  # the file was read to its end
    store = SpanStore()
    store.add(spans)
    (checked,) = Analyzer(store).all()  # what `check` reports
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        (row,) = app.trace_list.rows
        assert not row.in_progress and not checked.in_progress
        assert row.name == checked.name == "plan"
        assert row.duration_ms == checked.duration_ms == 8.0
        line = app.trace_list.render_line(1).text
        assert "running" not in line and "8ms" in line


async def test_a_saved_trace_without_its_root_is_finished_in_open(tmp_path):
    """`open` reads complete files: a trace whose root never came is not running (check agrees)."""
    saved = tmp_path / "rootless.otlp.json"
    spans = [span("step", "gone", trace="t9"), span("tool", "gone", trace="t9", kind="tool", tool_name="x")]
    saved.write_bytes(orjson.dumps(trace_request(spans)))
    app = OrchApp(TraceIndex(), sources=sources_for([str(saved)]), save_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.load_finished and app.index.get("t9") is not None:
                break
        analysis = app.index.get("t9")
        assert analysis is not None and not analysis.in_progress and analysis.duration_ms is not None
