"""The status line as a person reads it at 80 columns: the loading percentage is never the part that is cut."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui.widgets.status_bar import StatusBar

BIG = {"traces": 45_866, "spans": 1_000_000, "findings": 5_543, "errors": 0}


class OneLine(App):
    def compose(self) -> ComposeResult:
        yield StatusBar()


async def shown(width: int, counts: dict[str, int], **kwargs) -> str:
    """The line as painted, `width` cells wide."""
    app = OneLine()
    async with app.run_test(size=(width, 3)) as pilot:
        bar = app.query_one(StatusBar)
        bar.show("1m.jsonl", counts, listed=kwargs.pop("listed", counts["traces"]), quick_filter="all", text_filter="", loading=kwargs.pop("loading", None), **kwargs)
        await pilot.pause()
        return bar.render_line(0).text


async def test_loading_shows_before_the_counts_at_80_columns():
    line = await shown(80, BIG, listed=28_948, loading="loading 57%")
    assert line.rstrip() == "1m.jsonl  loading 57%  28,948/45,866 traces · 1,000,000 spans · 5,543 findings"
    # "0 read errors", worth least, was dropped rather than cut to "0 read…"


async def test_no_read_errors_is_said_when_there_is_room():
    line = await shown(120, BIG, loading="loading 57%")
    assert "loading 57%  45,866 traces · 1,000,000 spans · 5,543 findings · 0 read errors" in line
    line = await shown(80, {"traces": 8, "spans": 36, "findings": 3, "errors": 0})
    assert line.rstrip().endswith("8 traces · 36 spans · 3 findings · 0 read errors")


async def test_read_errors_stay_in_view_with_short_counts_when_narrow():
    errors = {**BIG, "errors": 2}
    line = await shown(80, errors, listed=28_948, loading="loading 57%")
    assert line.rstrip() == "1m.jsonl  loading 57%  45.9k traces · 5,543 findings · 2 read errors"
    line = await shown(90, errors, listed=28_948, loading="loading 57%")
    assert line.rstrip() == "1m.jsonl  loading 57%  28.9k/45.9k traces · 1.0M spans · 5,543 findings · 2 read errors"
    line = await shown(140, errors, listed=28_948, loading="loading 57%")
    assert line.rstrip().endswith("28,948/45,866 traces · 1,000,000 spans · 5,543 findings · 2 read errors (! lists)")
