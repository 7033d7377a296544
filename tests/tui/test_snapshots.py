"""Layout regression snapshots (pytest-textual-snapshot) of the main screen, a loop, the detail tabs and help.

Update only after looking at the report: `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.tui.conftest import DEMO_START_NS, demo_index, settle
from tui import colour_mode
from tui.app import OrchApp
from tui.widgets import trace_list


def app(tmp_path) -> OrchApp:
    return OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo")


async def _settle(pilot) -> None:
    await settle(pilot)


def test_main_screen(snap_compare, tmp_path):
    assert snap_compare(app(tmp_path), terminal_size=(120, 36), run_before=_settle)


def test_main_screen_small_terminal(snap_compare, tmp_path):
    assert snap_compare(app(tmp_path), terminal_size=(80, 24), run_before=_settle)


def test_ages_small_terminal_without_colour(snap_compare, tmp_path, monkeypatch):
    """`t`: the start column as ages, at 80 columns (spans give way to it) and without colour."""
    monkeypatch.setattr(trace_list, "time_ns", lambda: DEMO_START_NS + 75 * 1_000_000_000)

    async def ages(pilot):
        await settle(pilot)
        await pilot.press("t", "j")

    demo = OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo", colours=colour_mode.NONE)
    assert snap_compare(demo, terminal_size=(80, 24), run_before=ages)


def test_loop_highlighted(snap_compare, tmp_path):
    async def select_loop(pilot):
        await settle(pilot)
        await pilot.press("j", "j", "j", "enter", "n")

    assert snap_compare(app(tmp_path), terminal_size=(120, 36), run_before=select_loop)


def open_tab(keys: tuple[str, ...], tab: str):
    """A run_before that selects a step with `keys` and shows its `tab` in the detail pane."""

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press(*keys)
        pilot.app.query_one("TabbedContent").active = tab
        await pilot.pause()

    return run_before


def test_detail_chat_tab(snap_compare, tmp_path):
    keys = ("j", "j", "j", "j", "j", "enter", "j", "j")  # triage_handoff: first LLM call
    assert snap_compare(app(tmp_path), terminal_size=(120, 36), run_before=open_tab(keys, "messages"))


def test_detail_events_tab(snap_compare, tmp_path):
    keys = ("j", "j", "j", "j", "enter", "j", "j")  # order_status: the timed-out get_order
    assert snap_compare(app(tmp_path), terminal_size=(120, 36), run_before=open_tab(keys, "events"))


def test_help_screen(snap_compare, tmp_path):
    async def open_help(pilot):
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(app(tmp_path), terminal_size=(120, 36), run_before=open_help)


def test_routes_screen(snap_compare, tmp_path):
    async def open_routes(pilot):
        await settle(pilot)
        await pilot.press("r")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.press("j", "j", "j", "j")  # the expensive fallback branch of refund_request, its detail below

    assert snap_compare(app(tmp_path), terminal_size=(140, 36), run_before=open_routes)


def test_compare_screen(snap_compare, tmp_path):
    async def compare(pilot):
        await settle(pilot)
        await pilot.press("j", "j", "j", "j", "j", "j", "m", "g", "d")  # the refund run that found the policy vs one that skipped it
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app(tmp_path), terminal_size=(120, 36), run_before=compare)


# -- every view at 80x24 and 200x60, in 16 colours and without colour (issue 13) ----------------------------------


def coloured(tmp_path, colours: str) -> OrchApp:
    return OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo", colours=colours)


def show_tab(tab: str, keys: tuple[str, ...] = ("j", "j", "j", "j", "j", "enter", "j", "j")):
    """Select a step (by default triage_handoff's first LLM call), focus the detail pane and show `tab`."""

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press(*keys)
        pilot.app.query_one("TabbedContent").active = tab
        await pilot.press("tab")
        await pilot.pause()

    return run_before


async def routes(pilot):
    await settle(pilot)
    await pilot.press("r")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


ORDER_STATUS_TOOL = ("j", "j", "j", "j", "enter", "j", "j")  # the timed-out get_order: events, an error
LOOP = ("j", "j", "j", "enter", "n")  # policy_research: the loop step, its flags

VIEWS = {
    "main": _settle,
    "routes": routes,
    "info": show_tab("summary", LOOP),
    "chat": show_tab("messages"),
    "io": show_tab("io"),
    "attrs": show_tab("attributes"),
    "events": show_tab("events", ORDER_STATUS_TOOL),
    "flags": show_tab("findings", LOOP),
}
CASES = [
    ("main", (80, 24), "16"), ("main", (80, 24), "none"), ("main", (200, 60), "16"), ("main", (200, 60), "none"),
    ("routes", (80, 24), "none"), ("routes", (200, 60), "16"),
    ("info", (80, 24), "16"), ("chat", (200, 60), "none"), ("io", (80, 24), "none"),
    ("attrs", (200, 60), "16"), ("events", (80, 24), "16"), ("flags", (200, 60), "none"),
]


@pytest.mark.slow  # twelve app runs: after the default suite, from .ci/run
@pytest.mark.parametrize(("view", "size", "colours"), CASES, ids=[f"{v}-{w}x{h}-{c}" for v, (w, h), c in CASES])
def test_colour_modes(snap_compare, tmp_path, view, size, colours):
    assert snap_compare(coloured(tmp_path, colours), terminal_size=size, run_before=VIEWS[view])
