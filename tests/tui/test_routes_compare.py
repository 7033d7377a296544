"""The Routes screen (r) and the compare view (m, d), driven by keys and checked on what they show."""

from __future__ import annotations

from orchtui.demo import demo_spans
from orchtui.live import TraceIndex
from tests.tui.conftest import DEMO_START_NS, settle
from tui.app import OrchApp
from tui.screens.compare import CompareScreen
from tui.screens.routes import RoutesScreen
from tui.widgets.key_table import KeyTable
from tui.widgets.route_table import RouteTable

SIZE = (140, 36)
# The demo's list, newest first: the refund run that skipped retrieval on top, the one that found the policy
# second from the bottom, the one whose search missed (and fell back to gpt-4o) at the bottom.
SKIPPED_ROW, FOUND_ROW = 0, 6
GOLDEN = """
[[route]]
match = "refund_*"
expected_tool_calls = [{ name = "lookup_order" }, { name = "retrieve_policy" }, { name = "issue_refund" }]
tool_args_match_mode = "ignore"
"""


def table_rows(screen) -> list[list[str]]:
    """What a table on the screen shows, row by row, cell by cell."""
    if isinstance(screen, RoutesScreen):
        table = screen.query_one(RouteTable)
        return [table.row_text(index) for index in range(len(table.rows))]
    table = screen.query_one(KeyTable)
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


async def open_routes(pilot) -> RoutesScreen:
    await settle(pilot)
    await pilot.press("r")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, RoutesScreen)
    return screen


async def test_r_lists_every_route_and_marks_the_expensive_branch(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = await open_routes(pilot)
        rows = table_rows(screen)
        assert len(rows) == 8
        families = [row[0] for row in rows]
        assert families.count("refund_request") == 3 and len(set(families)) == 6
        (expensive,) = [row for row in rows if row[1].startswith("$ ")]
        assert expensive[1].startswith("$ ◆ lookup_order › ⌕retrieve_policy ◆gpt-4o")  # clipped; the detail has it all
        assert expensive[7] == "$0.0141"  # cost per trace (columns in reading priority: tui/screens/routes.py)
        screen.query_one(RouteTable).cursor = rows.index(expensive)
        await pilot.pause()
        detail = str(screen.query_one("#route-detail").render())
        assert "expensive branch: cost $0.0141/trace is 3.7x the rest of refund_request" in detail
        assert "llm:gpt-4o-mini > lookup_order > retriever:retrieve_policy > llm:gpt-4o" in detail  # the full path

        await pilot.press("b")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        by_family = table_rows(screen)
        assert len(by_family) == 6 and "routes by family" in screen.query_one("#routes-box").border_title
        refund = next(row for row in by_family if row[0] == "refund_request")
        assert refund[1] == "3"  # traces (no route column by family)


async def test_enter_on_a_route_lists_its_traces_and_esc_clears_it(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = await open_routes(pilot)
        rows = table_rows(screen)
        target = next(index for index, row in enumerate(rows) if row[1] == "◆ lookup_order ◆ issue_refund ◆gpt-4o")
        await pilot.press(*["j"] * target)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(demo_app.screen, RoutesScreen)
        listed = demo_app.trace_list.rows
        assert [a.name for a in listed] == ["refund_request"]
        assert [call.name for call in listed[0].tool_calls] == ["lookup_order", "issue_refund"]
        status = str(demo_app.status_bar.render())
        assert "1/8 traces" in status and "[route: refund_request: ◆ lookup_order ◆ issue_refund ◆gpt-4o]" in status
        await pilot.press("escape")
        await settle(pilot)
        assert len(demo_app.trace_list.rows) == 8 and "[route:" not in str(demo_app.status_bar.render())


async def test_the_routes_screen_fills_in_while_traces_arrive(tmp_path):
    index = TraceIndex()
    app = OrchApp(index, save_dir=tmp_path, sources_label="live")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_routes(pilot)
        assert table_rows(screen) == []
        assert "No finished traces yet" in str(screen.query_one("#route-detail").render())
        index.add(demo_spans(start_ns=DEMO_START_NS))  # as a source thread would
        for _ in range(40):
            await pilot.pause(0.1)
            await app.workers.wait_for_complete()
            if len(table_rows(screen)) == 8:
                break
        assert len(table_rows(screen)) == 8


async def test_main_screen_keys_do_nothing_under_the_routes_screen(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await open_routes(pilot)
        await pilot.press("slash", "m", "f")
        await pilot.pause()
        assert not demo_app.filter_input.display and demo_app.marked_id is None and demo_app.quick_filter == "all"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(demo_app.screen, RoutesScreen)


async def mark_found_and_compare_skipped(pilot) -> CompareScreen:
    await settle(pilot)
    await pilot.press(*["j"] * FOUND_ROW, "m")
    await pilot.press("g", "d")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, CompareScreen)
    return screen


async def test_m_then_d_aligns_two_runs_of_one_workflow(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*["j"] * FOUND_ROW, "m")
        assert "⚑" in demo_app.trace_list.render_line(FOUND_ROW + 1).text  # + the header line
        assert "⚑ refund_request" in str(demo_app.status_bar.render())
        await pilot.press("g", "d")
        await demo_app.workers.wait_for_complete()
        await pilot.pause()
        screen = demo_app.screen
        assert isinstance(screen, CompareScreen)
        summary = str(screen.query_one("#compare-summary").render())
        assert "A: 6 steps  B: 5 steps  1 skipped (⌕ retrieve_policy) · B vs A: -145 tokens" in summary
        rows = table_rows(screen)
        assert [row[1] for row in rows] == ["=", "=", "-", "=", "=", "="]
        assert rows[2][0] == "⌕ retrieve_policy" and rows[2][2] == "" and rows[2][6] == "-240ms"
        assert rows[3][0] == "◆ gpt-4o-mini" and rows[3][4] == "-145"  # less context without the policy


async def test_enter_on_a_compared_step_shows_it_in_the_tree(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = await mark_found_and_compare_skipped(pilot)
        b_trace = screen.b_trace_id
        await pilot.press("j", "j", "j", "j", "enter")  # issue_refund
        await settle(pilot)
        assert not isinstance(demo_app.screen, CompareScreen)
        assert demo_app.trace_list.current.trace_id == b_trace
        node = demo_app.step_tree.cursor_node
        assert node is not None and demo_app.step_tree.analysis.tree.spans[node.data].name == "issue_refund"
        assert demo_app.focused is demo_app.step_tree


async def test_d_without_a_mark_or_gate_says_how_to_compare(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(demo_app.screen, CompareScreen)
        assert any("Mark a trace with m" in n.message for n in demo_app._notifications)
        await pilot.press("m", "m")  # m again on the marked trace clears the mark
        assert demo_app.marked_id is None and "⚑" not in demo_app.trace_list.render_line(1).text


async def test_d_with_a_gate_file_compares_with_the_golden_route(tmp_path):
    from tests.tui.conftest import demo_index

    gate = tmp_path / "gate.toml"
    gate.write_text(GOLDEN)
    app = OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo", spec=gate)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")  # the top trace: the refund run that skipped retrieval
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen) and screen.a_trace_id is None
        assert "A: golden route refund_*" in screen.query_one("#compare-box").border_title
        # The route names its steps only: the skipped retrieve_policy is a retriever because the other refund runs
        # took it as one, in the summary as in the table.
        assert [(row[0], row[1], row[2]) for row in table_rows(screen)] == [
            ("▣ lookup_order", "=", "▣ lookup_order"), ("⌕ retrieve_policy", "-", ""), ("▣ issue_refund", "=", "▣ issue_refund"),
        ]
        assert "1 skipped (⌕ retrieve_policy)" in str(screen.query_one("#compare-summary").render())
        await pilot.press("j", "enter")  # a golden step has no span to go to
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen)
        assert any("no span to go to" in n.message for n in app._notifications)
