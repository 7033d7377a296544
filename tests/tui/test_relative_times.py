"""`t` in the trace list: start times as local clock time (date and zone) or as age ("12s ago"), the ages kept
current by repainting only the start-column cells whose text changed, once a second."""

from __future__ import annotations

import pytest

from tests.tui.conftest import TerminalMirror, demo_index, settle
from tui.app import OrchApp
from tui.screens.help import GROUPS
from tui.widgets import trace_list

SIZE = (120, 30)
SECOND = 1_000_000_000


@pytest.fixture
def clock(monkeypatch):
    """The wall clock the list counts ages to, set by the test."""
    now = [0]
    monkeypatch.setattr(trace_list, "time_ns", lambda: now[0])
    return now


def newest_start(app: OrchApp) -> int:
    return max(row.start_ns for row in app.trace_list.rows)


async def test_t_shows_ages_and_t_again_the_clock(tmp_path, clock):
    app = OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        listing = app.trace_list
        clock[0] = newest_start(app) + 12 * SECOND
        assert "start UTC▼" in listing.render_line(0).text and "11-24 16:" in listing.render_line(1).text
        await pilot.press("t")
        await settle(pilot)
        assert "age▼" in listing.render_line(0).text
        ages = [listing.render_line(line).text for line in range(1, len(listing.rows) + 1)]
        assert "12s ago" in ages[0] and all(" ago " in row for row in ages)
        assert all("11-24" not in row for row in ages)
        await pilot.press("t")
        await settle(pilot)
        assert "start UTC▼" in listing.render_line(0).text and "11-24 16:" in listing.render_line(1).text


@pytest.mark.slow  # ~4 s of timers and screens (run by .ci/run after the default suite)
async def test_ages_stay_current_repainting_only_their_cells(tmp_path, clock):
    app = OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo")
    mirror = TerminalMirror(app, SIZE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        clock[0] = newest_start(app) + 12 * SECOND
        await pilot.press("t")
        await settle(pilot)
        newest = mirror.row_of(app.trace_list.rows[0].name)
        assert "12s ago" in mirror.line(newest)
        rows_drawn = len(app.trace_list._cache)
        clock[0] += 60 * SECOND
        await pilot.pause(trace_list.TraceList.AGE_SECONDS * 1.5)  # one tick of the age timer
        assert "1m ago" in mirror.line(newest)
        assert len(app.trace_list._cache) == rows_drawn  # written over the drawn rows: none rebuilt
        painted = mirror.frames
        clock[0] += SECOND // 10  # no age text changes: nothing is repainted
        await pilot.pause(trace_list.TraceList.AGE_SECONDS * 1.5)
        assert mirror.frames == painted


async def test_the_age_column_shows_on_the_cursor_row_in_the_cursor_style(tmp_path, clock):
    app = OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo")
    mirror = TerminalMirror(app, SIZE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        clock[0] = newest_start(app) + 3 * 86_400 * SECOND
        await pilot.press("t")
        await settle(pilot)
        line = mirror.row_of(app.trace_list.current.name)
        column = mirror.line(line).index("3d ago")
        assert mirror.background(line, column) == mirror.background(line, 4)  # the cursor's, across the row


def test_help_lists_t():
    assert any(key == "t" for _, keys in GROUPS for key, _ in keys)
