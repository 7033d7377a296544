"""The trace list: one line per trace, newest first, fast at 100,000 rows.

A line-API `ScrollView` over the index's row list: only visible lines are rendered, each from a cache keyed by
(trace, version, width, cursor), so scrolling and live updates cost the viewport, not the list. DataTable and
ListView build per-row objects and degrade badly at this size (reference/style.md §9).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from orchtui.analysis import TraceAnalysis

from ..render import trace_row
from .row_cursor import RowCursor


class TraceList(RowCursor, ScrollView, can_focus=True):
    """Rows are TraceAnalysis objects; the cursor follows a trace id across refreshes."""

    DEFAULT_CSS = """
    TraceList { background: $surface; overflow-x: hidden; }
    TraceList > .trace-list--cursor { background: $accent 40%; }
    TraceList:focus > .trace-list--cursor { background: $accent; color: $text; }
    """
    COMPONENT_CLASSES = {"trace-list--cursor"}
    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="trace_list.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="trace_list.up"),
        Binding("g,home", "first", "Top", show=False, id="trace_list.top"),
        Binding("G,end", "last", "Bottom", show=False, id="trace_list.bottom"),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("enter,l", "open", "Open steps", show=False, id="trace_list.open"),
    ]

    cursor = reactive(0, repaint=False)

    class Highlighted(Message):
        """The cursor moved to another trace (or the list emptied: trace_id None)."""

        def __init__(self, trace_id: str | None) -> None:
            super().__init__()
            self.trace_id = trace_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[TraceAnalysis] = []
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self._positions: dict[str, int] = {}
        self._announced: str | None = None
        self.marked: str | None = None  # the trace `m` marked, flagged in its row

    @property
    def current(self) -> TraceAnalysis | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def set_rows(self, rows: list[TraceAnalysis], positions: dict[str, int]) -> None:
        """Replace the rows (`positions`: trace id -> row, built with them off the UI thread), keeping the cursor
        on the same trace when it is still listed."""
        current = self.current
        self.rows = rows
        self._positions = positions
        self.virtual_size = Size(self.size.width, len(rows))
        if current is not None and current.trace_id in self._positions:
            self.cursor = self._positions[current.trace_id]
        else:
            self.cursor = min(self.cursor, max(0, len(rows) - 1))
        self.refresh()
        self._announce()

    def select_trace(self, trace_id: str) -> bool:
        position = self._positions.get(trace_id)
        if position is None:
            return False
        self.cursor = position
        return True

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old - int(self.scroll_offset.y))
        self.refresh_line(new - int(self.scroll_offset.y))
        self.scroll_to_region_line(new)
        self._announce()

    def scroll_to_region_line(self, line: int) -> None:
        top = int(self.scroll_offset.y)
        height = self.scrollable_content_region.height
        if line < top:
            self.scroll_to(y=line, animate=False)
        elif height and line >= top + height:
            self.scroll_to(y=line - height + 1, animate=False)

    def _announce(self) -> None:
        current = self.current
        trace_id = current.trace_id if current is not None else None
        if trace_id != self._announced:
            self._announced = trace_id
            self.post_message(self.Highlighted(trace_id))

    class Opened(Message):
        """Enter on a trace: the user wants its steps."""

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.Opened())

    def render_line(self, y: int) -> Strip:
        row_index = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width or self.size.width
        if row_index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        analysis = self.rows[row_index]
        is_cursor = row_index == self.cursor
        is_marked = analysis.trace_id == self.marked
        key = (analysis.trace_id, analysis.version, width, is_cursor, self.has_focus, is_marked)
        strip = self._cache.get(key)
        if strip is None:
            text = trace_row(analysis, width, marked=is_marked)
            style: Style = self.rich_style
            if is_cursor:
                style = style + self.get_component_rich_style("trace-list--cursor")
            segments = list(text.render(self.app.console, end=""))
            strip = Strip(Segment.apply_style(segments, style), text.cell_len).adjust_cell_length(width, style)
            self._cache[key] = strip
        return strip

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event) -> None:
        row = int(self.scroll_offset.y) + event.y
        if 0 <= row < len(self.rows):
            self.cursor = row
