"""`!`: the sources and every read error, listed, escaped and readable in full from the keyboard; and the empty
state that says what the app waits on."""

from __future__ import annotations

import pytest

from orchtui.sources.factory import sources_for
from orchtui.live import TraceIndex
from parsers.span import ReadError
from tests.tui.conftest import settle
from tui.app import OrchApp
from tui.screens.sources import SourcesScreen
from tui.widgets.error_list import ErrorList
from tui.widgets.status_bar import StatusBar

HOSTILE = "\x1b[2J\x1b]0;owned\x07[bold red]markup[/] " + "long " * 2000 + "THE END"


def painted(widget) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def open_sources(pilot) -> SourcesScreen:
    await settle(pilot)
    await pilot.press("exclamation_mark")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SourcesScreen)
    return screen


@pytest.mark.slow  # ~4 s of timers and screens (run by .ci/run after the default suite)
async def test_bang_lists_every_read_error_escaped_and_shows_one_in_full(demo_app):
    errors = [ReadError(f"traces.jsonl:{line}", f"not valid JSON #{line}") for line in range(1, 300)]
    errors.insert(1, ReadError("POST /v1/traces #7 \x1b[31m", HOSTILE))
    demo_app.index.add_errors(errors, {"metric lines": 4, "truncated files read again from the start": 1})
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        status = str(demo_app.query_one(StatusBar).render())
        assert "300 read errors (! lists)" in status
        screen = await open_sources(pilot)
        listing = screen.query_one(ErrorList)
        assert len(listing.rows) == 300 and listing.has_focus
        lines = painted(listing)
        assert lines[0].startswith(" traces.jsonl:1  not valid JSON #1")
        assert "\x1b" not in lines[1] and "\\x1b[31m" in lines[1] and "[bold red]markup[/]" in lines[1]
        sources = str(screen.query_one("#sources").render())
        assert "8 traces · 51 spans · 300 read errors" in sources
        assert "4 metric lines" in sources and "1 truncated files read again from the start" in sources

        await pilot.press("j")
        await pilot.pause()
        detail = screen.query_one("#error-detail")
        shown = str(screen.query_one("#error-text").render())
        assert shown.startswith("POST /v1/traces #7 \\x1b[31m") and "\\x1b]0;owned\\x07" in shown and "\x1b" not in shown
        await pilot.press("tab")  # into the full message, which scrolls by keyboard
        assert pilot.app.focused is detail
        await pilot.press("pagedown", "pagedown", "end")
        await pilot.pause()
        assert detail.scroll_y > 0 and detail.scroll_y == detail.max_scroll_y

        await pilot.press("shift+tab", "G")
        await pilot.pause()
        assert listing.cursor == 299 and "not valid JSON #299" in str(screen.query_one("#error-text").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, SourcesScreen)


async def test_read_errors_arriving_while_open_join_the_list(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        screen = await open_sources(pilot)
        listing = screen.query_one(ErrorList)
        assert painted(listing)[0].strip() == "No read errors."
        demo_app.index.add_errors([ReadError("late.jsonl:3", "not valid JSON")])
        await pilot.pause(0.7)  # the screen looks twice a second
        assert len(listing.rows) == 1 and "late.jsonl:3" in painted(listing)[0]
        assert "read errors (1" in screen.query_one("#errors-box").border_title


@pytest.mark.slow  # ~3 s of keys and screens (run by .ci/run after the default suite)
async def test_nothing_arrived_yet_says_what_it_waits_on(tmp_path):
    missing = tmp_path / "agent.jsonl"
    app = OrchApp(TraceIndex(), save_dir=tmp_path, sources=sources_for([str(missing)], follow=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "waiting for spans on agent.jsonl" in str(app.query_one(StatusBar).render())
        screen = await open_sources(pilot)
        assert painted(screen.query_one(ErrorList))[0].startswith(" Waiting for spans on agent.jsonl")
        sources = str(screen.query_one("#sources").render())
        assert f"{missing}:1  no file yet: read when it appears" in sources
        assert "0 traces · 0 spans · 0 read errors" in sources
        missing.write_text("")  # the file appears: followed, caught up
        await pilot.pause(1.5)
        assert "0 B read, caught up" in str(screen.query_one("#sources").render())


@pytest.mark.slow  # ~4 s of timers and screens (run by .ci/run after the default suite)
async def test_the_command_palette_opens_the_sources_screen(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"sources and read")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, SourcesScreen)
        await pilot.press("exclamation_mark")  # ! closes it again
        await pilot.pause()
        assert not isinstance(pilot.app.screen, SourcesScreen)
