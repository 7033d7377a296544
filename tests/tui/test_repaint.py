"""What reaches the terminal, frame by frame (tests/tui/conftest.py's TerminalMirror): a scrolled list repaints the
rows its cursor leaves and reaches, and its header; an idle app paints nothing."""

from __future__ import annotations

import pytest

from orchtui.live import TraceIndex
from tests.spans import span
from tests.tui.conftest import DEMO_START_NS, TerminalMirror, demo_index, settle
from tui.app import OrchApp

SIZE = (100, 30)
MS = 1_000_000


def many_traces(count: int) -> TraceIndex:
    """`count` one-span traces named trace-000.., a millisecond apart (newest first in the list)."""
    index = TraceIndex()
    index.add([span(f"trace-{number:03d}", None, trace=f"t{number:03d}", span_id=f"s{number:03d}", kind="agent",
                    start=DEMO_START_NS + number * MS, end=DEMO_START_NS + number * MS + MS) for number in range(count)])
    return index


@pytest.mark.slow  # 5-6 s each: a hundred keys, every frame mirrored (run by .ci/run)
async def test_a_scrolled_list_repaints_the_rows_its_cursor_leaves_and_reaches(tmp_path):
    app = OrchApp(many_traces(200), save_dir=tmp_path)
    mirror = TerminalMirror(app, SIZE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*["j"] * 40)  # well past the first screenful: the list scrolls
        await pilot.press("k", "k", "k")
        await settle(pilot)
        listing = app.trace_list
        assert listing.scroll_offset.y > 10 and listing.current.name == "trace-162"
        cursor = listing.get_component_rich_style("trace-list--cursor").bgcolor
        highlighted = [mirror.line(y)[3:12] for y in range(SIZE[1]) if mirror.background(y, 4) == cursor]
        assert highlighted == ["trace-162"]


@pytest.mark.slow  # 5-6 s each: a hundred keys, every frame mirrored (run by .ci/run)
async def test_a_scrolled_list_repaints_its_header(tmp_path):
    app = OrchApp(many_traces(200), save_dir=tmp_path)
    mirror = TerminalMirror(app, SIZE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*["j"] * 40)
        await settle(pilot)
        assert "FOLLOW" not in mirror.line(1)
        app.trace_list.follow = True  # as F does, without moving the cursor back to the top
        await settle(pilot)
        assert app.trace_list.scroll_offset.y > 10
        assert "FOLLOW" in mirror.line(1)


@pytest.mark.slow  # 5-6 s each: a hundred keys, every frame mirrored (run by .ci/run)
async def test_a_scrolled_routes_table_repaints_the_rows_its_cursor_leaves_and_reaches(tmp_path):
    app = OrchApp(many_traces(120), save_dir=tmp_path)
    mirror = TerminalMirror(app, SIZE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        table = app.screen.table
        await pilot.press(*["j"] * 40)
        await pilot.press("k", "k", "k")
        await settle(pilot)
        assert table.scroll_offset.y > 10
        family = table.row_text(table.cursor)[0]
        cursor = table.get_component_rich_style("route-table--cursor").bgcolor
        highlighted = [mirror.line(y) for y in range(SIZE[1]) if mirror.background(y, 3) == cursor]
        assert len(highlighted) == 1 and family in highlighted[0]


async def test_an_idle_app_paints_nothing(tmp_path):
    """The app polls its sources ten times a second; when nothing changed, no frame may follow (an idle demo kept
    a core ~7% busy repainting an unchanged status line)."""
    app = OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo")
    mirror = TerminalMirror(app, SIZE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause(0.3)
        painted = mirror.frames
        await pilot.pause(0.5)  # five polls
        assert mirror.frames == painted
        await pilot.press("j")  # and a change still paints
        await settle(pilot)
        assert mirror.frames > painted
