"""Fixtures for driving the app like a person: a demo-loaded app, and a helper to let workers settle."""

from __future__ import annotations

import os
import time

import pytest
from rich.cells import cell_len
from rich.control import ControlType
from rich.style import Style
from textual import events

from orchtui.demo import demo_spans
from orchtui.live import TraceIndex
from tui.app import OrchApp

DEMO_START_NS = 1_764_000_000_000_000_000  # fixed, so times and snapshots are stable

os.environ["TZ"] = "UTC"
time.tzset()


def demo_index() -> TraceIndex:
    index = TraceIndex()
    index.add(demo_spans(start_ns=DEMO_START_NS))
    return index


@pytest.fixture
def demo_app(tmp_path) -> OrchApp:
    return OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo")


def type_fast(app: OrchApp, *keys: str) -> None:
    """Send keys the way a fast typist's arrive: all queued at once, with no pause for the app to handle one before
    the next arrives (`pilot.press` waits for the app to go idle after each key, which hides typeahead bugs)."""
    characters = {"slash": "/", "enter": "\r", "space": " "}
    for key in keys:
        event = events.Key(key, characters.get(key, key if len(key) == 1 else None))
        event.set_sender(app)
        app._driver.send_message(event)


async def settle(pilot) -> None:
    """Let timers fire and row workers finish, then let their results paint."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until_listed(pilot, seconds: float = 10) -> None:
    """Until the app's sources have read everything once and its list holds every trace of the store."""
    app = pilot.app
    for _ in range(int(seconds / 0.05)):
        if app.load_finished and len(app.trace_list.rows) == len(app.index.store):
            return
        await pilot.pause(0.05)


class TerminalMirror:
    """What the terminal shows: every frame the app displays, applied to a grid of (character, style) cells.

    A screenshot renders the whole screen afresh, so it cannot see a repaint that went to the wrong lines (a cursor
    drawn on the row it left); the mirror can, because it only changes the cells each frame updated."""

    def __init__(self, app: OrchApp, size: tuple[int, int]) -> None:
        """Made before `app.run_test(size=size)`, so the mirror sees the first frame too."""
        width, height = size
        self.cells: list[list[tuple[str, Style | None]]] = [[(" ", None)] * width for _ in range(height)]
        self.frames = 0
        display = app._display

        def mirrored(screen, renderable) -> None:
            display(screen, renderable)
            if renderable is not None and not app._batch_count:
                self.frames += 1
                self._apply(renderable.__rich_console__(app.console, app.console.options))

        app._display = mirrored  # type: ignore[method-assign]

    def _apply(self, segments) -> None:
        x = y = 0
        for segment in segments:
            if segment.control:
                for code, *arguments in segment.control:
                    if code == ControlType.CURSOR_MOVE_TO:
                        x, y = arguments
                continue
            for character in segment.text:
                if character == "\n" or not 0 <= y < len(self.cells):
                    continue
                if x < len(self.cells[y]):
                    self.cells[y][x] = (character, segment.style)
                x += cell_len(character)

    def line(self, y: int) -> str:
        return "".join(character for character, _ in self.cells[y])

    def row_of(self, text: str) -> int:
        """The screen line showing `text` (the first)."""
        return next(y for y in range(len(self.cells)) if text in self.line(y))

    def background(self, y: int, x: int) -> object:
        style = self.cells[y][x][1]
        return style.bgcolor if style is not None else None
