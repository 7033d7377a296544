"""The Routes screen at the widths people use: the rates that say a route is failing stay in view, and scrolling
sideways moves whole columns (never the tail of a number, `00%` for 100%)."""

from __future__ import annotations

import pytest

from orchtui.demo import demo_spans
from orchtui.live import TraceIndex
from tests.tui.conftest import DEMO_START_NS, settle
from tests.tui.test_routes_compare import open_routes
from tui.app import OrchApp
from tui.widgets.route_table import MORE_LEFT, MORE_RIGHT, RouteTable

HEALTH = ["traces", "ok", "loops", "stops"]


def shown_lines(table: RouteTable) -> list[str]:
    """The table's lines as painted (header first)."""
    return [table.render_line(y).text for y in range(len(table.rows) + 1)]


def assert_whole_cells(table: RouteTable) -> None:
    """Every word on a painted row is a word of one of that row's cells, or a clipped route (`…`)."""
    for index, line in enumerate(shown_lines(table)[1:]):
        words = {word for cell in table.row_text(index) for word in cell.split()}
        for word in line.split():
            assert word in words or word.endswith("…"), f"row {index} shows {word!r}, part of a cell: {line!r}"


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_loop_and_stop_rates_are_in_view_beside_success(demo_app, size):
    async with demo_app.run_test(size=size) as pilot:
        screen = await open_routes(pilot)
        table = screen.query_one(RouteTable)
        visible = table.visible_columns
        assert visible[:2] == ["family", "path"] and visible[2:6] == HEALTH
        if size[0] >= 120:
            assert visible[6:8] == ["p95", "cost"]
        header = shown_lines(table)[0]
        assert header.split()[:6] == ["family", "route", "traces", "ok", "loop", "stop"]
        assert header.rstrip().endswith(MORE_RIGHT)  # more columns to the right
        looping = next(i for i in range(len(table.rows)) if table.row_text(i)[0] == "policy_research")
        line = shown_lines(table)[looping + 1]
        health = table.row_text(looping)[2:6]  # traces, ok 0%, loop 100%, stop 100%: read together
        words = line.split()
        assert any(words[i : i + 4] == health for i in range(len(words))), line
        assert_whole_cells(table)

        await pilot.press("b")  # by family: the same reading order, no route column
        await settle(pilot)
        assert table.visible_columns[:5] == ["family", *HEALTH]


@pytest.mark.slow  # ~4 s of timers and screens (run by .ci/run after the default suite)
async def test_scrolling_sideways_moves_whole_columns(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        screen = await open_routes(pilot)
        table = screen.query_one(RouteTable)
        seen = list(table.visible_columns)
        for _ in range(20):  # more presses than column groups: the last press changes nothing
            await pilot.press("l")
            await pilot.pause()
            assert_whole_cells(table)
            assert table.visible_columns[:2] == ["family", "path"]  # what names the route stays pinned
            seen.extend(key for key in table.visible_columns if key not in seen)
        assert seen[-1] == "models" and len(seen) == len(table.columns)
        assert MORE_LEFT in shown_lines(table)[0] and not shown_lines(table)[0].rstrip().endswith(MORE_RIGHT)
        for _ in range(20):
            await pilot.press("h")
        await pilot.pause()
        assert table.visible_columns[2:6] == HEALTH and MORE_LEFT not in shown_lines(table)[0]


async def test_a_long_family_name_does_not_push_the_rates_off_screen(tmp_path):
    spans = demo_spans(start_ns=DEMO_START_NS)
    for span in spans:
        if span.name == "policy_research":
            span.name = "policy_research_" + "x" * 5000
    index = TraceIndex()
    index.add(spans)
    async with OrchApp(index, save_dir=tmp_path).run_test(size=(80, 24)) as pilot:
        screen = await open_routes(pilot)
        table = screen.query_one(RouteTable)
        assert any(table.row_text(i)[0].startswith("policy_research_xxx") for i in range(len(table.rows)))
        assert table.visible_columns[2:6] == HEALTH
        assert_whole_cells(table)
