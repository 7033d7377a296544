"""The trace list: a header line, then one line per trace, fast at 100,000 rows.

A line-API `ScrollView` over the index's row list: only visible lines are rendered, each from a cache keyed by
(trace, version, layout, cursor), so scrolling and live updates cost the viewport, not the list. DataTable and
ListView build per-row objects and degrade badly at this size (reference/style.md §9). Column widths are fitted to
the visible rows (`render.list_layout`), so a name is cut only when the screen is full.

Sorting (`s` cycles the column, `S` reverses) and the service filter (`v`) are set on the index and applied by the
app's row worker with the other filters, never here. Follow mode (`F`, on by default for live sources) keeps the
newest trace selected as traces arrive, until the user moves the cursor.

`t` shows the start column as each trace's age (`12s ago`) instead of its local clock time. Ages are written over
the cached rows as they are drawn, and one timer, once a second, repaints only the start-column cells of the
visible rows whose age text changed: no row is rebuilt and nothing else is repainted.
"""

from __future__ import annotations

from time import time_ns

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from orchtui.analysis import TraceAnalysis

from orchtui.sorting import SortOrder

from ..render import ListLayout, list_layout, relative_age, safe, start_column, trace_header, trace_row, zone_name
from .row_cursor import RowCursor, cursor_bindings


class TraceList(RowCursor, ScrollView, can_focus=True):
    """Rows are TraceAnalysis objects; the cursor follows a trace id across refreshes."""

    DEFAULT_CSS = """
    TraceList { background: $surface; overflow-x: hidden; }
    TraceList > .trace-list--header { text-style: bold; color: $text-accent; }
    TraceList > .trace-list--cursor { background: $accent 40%; }
    TraceList:focus > .trace-list--cursor { background: $accent; color: $text; }
    """
    HEADER_LINES = 1
    COMPONENT_CLASSES = {"trace-list--header", "trace-list--cursor"}
    BINDINGS = [
        *cursor_bindings("trace_list"),
        # The app's action, run as the key is handled: keys typed right after enter must find the steps focused.
        Binding("enter,l", "app.open_steps", "Open steps", show=False, id="trace_list.open"),
        Binding("s", "sort", "Sort", id="trace_list.sort"),
        Binding("S", "reverse_sort", "Reverse sort", show=False, key_display="S", id="trace_list.reverse_sort"),
        Binding("F", "toggle_follow", "Follow", key_display="F", id="trace_list.follow"),
        Binding("v", "cycle_service", "Service", show=False, id="trace_list.service"),
        Binding("t", "toggle_ages", "Ages", show=False, id="trace_list.ages"),
    ]
    AGE_SECONDS = 1.0  # how often the ages are brought up to date (the finest unit they show)

    cursor = reactive(0, repaint=False)
    follow = reactive(False, repaint=False)  # keep the newest trace selected as traces arrive
    ages = reactive(False, repaint=False)  # the start column shows ages ("12s ago"), not clock times

    class Highlighted(Message):
        """The cursor moved to another trace (or the list emptied: trace_id None). `followed`: the list moved it
        to the newest trace as rows arrived, not the user."""

        def __init__(self, trace_id: str | None, followed: bool = False) -> None:
            super().__init__()
            self.trace_id = trace_id
            self.followed = followed

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[TraceAnalysis] = []
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self._positions: dict[str, int] = {}
        self._announced: str | None = None
        self.marked: str | None = None  # the trace `m` marked, flagged in its row
        self._newest: str | None = None
        self.services: tuple[str, ...] = ()  # the services in the data; a column and `v` when several
        self._moved = False  # the user moved the cursor: stop snapping to the newest trace
        self._following = False  # set_rows is moving the cursor (not the user)
        self._serial = 0  # bumps with every new row list: the layout of the visible rows is cached per serial
        self._layout: tuple[tuple, ListLayout] | None = None
        self._now_ns = time_ns()  # the moment the ages on screen are counted to

    def on_mount(self) -> None:
        self.follow = bool(getattr(self.app, "live", False))
        self._age_timer = self.set_interval(self.AGE_SECONDS, self._tick_ages, pause=True)

    @property
    def current(self) -> TraceAnalysis | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def set_rows(self, rows: list[TraceAnalysis], positions: dict[str, int]) -> None:
        """Replace the rows (`positions`: trace id -> row, built with them off the UI thread). Following, or until
        the user first moves, the newest trace is selected (`rows.newest`, found by the row worker); otherwise
        the cursor stays on the same trace when it is still listed."""
        self._following = True  # the cursor moves below are the list's own
        try:
            self._set_rows(rows, positions)
        finally:
            self._following = False

    def _set_rows(self, rows: list[TraceAnalysis], positions: dict[str, int]) -> None:
        current = self.current
        self.rows = rows
        self._positions = positions
        self._serial += 1
        self._newest = getattr(rows, "newest", None)
        self.services = getattr(rows, "services", ())
        self.virtual_size = Size(self.size.width, len(rows) + self.HEADER_LINES)
        if (self.follow or not self._moved) and self._newest in positions:
            self.cursor = positions[self._newest]
            self.scroll_to_region_line(self.cursor)  # the cursor may stay put while the newest row moves
        elif current is not None and current.trace_id in self._positions:
            self.cursor = self._positions[current.trace_id]
        else:
            self.cursor = min(self.cursor, max(0, len(rows) - 1))
        self.refresh()
        self._announce()

    def select_trace(self, trace_id: str) -> bool:
        """Select a trace the user asked for (palette, compare): that is a move, so following stops."""
        position = self._positions.get(trace_id)
        if position is None:
            return False
        self._user_moved()
        self.cursor = position
        return True

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_row(old)
        self.refresh_row(new)
        self.scroll_to_region_line(new)
        self._announce()

    def watch_follow(self) -> None:
        self.refresh_header()

    def scroll_to_region_line(self, line: int) -> None:
        top = int(self.scroll_offset.y)
        height = self.scrollable_content_region.height - self.HEADER_LINES
        if line < top:
            self.scroll_to(y=line, animate=False)
        elif height > 0 and line >= top + height:
            self.scroll_to(y=line - height + 1, animate=False)

    # -- the user's moves, sorting, following, services ------------------------------------------------------------

    def _user_moved(self) -> None:
        self._moved = True
        self.follow = False

    def action_cursor_down(self) -> None:
        self._user_moved()
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._user_moved()
        super().action_cursor_up()

    def action_first(self) -> None:
        self._user_moved()
        super().action_first()

    def action_last(self) -> None:
        self._user_moved()
        super().action_last()

    def action_page_down(self) -> None:
        self._user_moved()
        super().action_page_down()

    def action_page_up(self) -> None:
        self._user_moved()
        super().action_page_up()

    def action_toggle_follow(self) -> None:
        """F: follow the newest trace (selecting it now), or stop following."""
        self.follow = not self.follow
        if self.follow and self._newest in self._positions:
            self.cursor = self._positions[self._newest]

    def action_toggle_ages(self) -> None:
        """t: the start column as each trace's age, or as its local clock time again."""
        self.ages = not self.ages

    def watch_ages(self, ages: bool) -> None:
        self._now_ns = time_ns()
        if ages:
            self._age_timer.resume()
        else:
            self._age_timer.pause()
        self.refresh()  # every row's start column and the header

    def _tick_ages(self) -> None:
        """Once a second while ages show: repaint the start-column cells of the visible rows whose age text moved
        on (most ages change once a minute or less, so most ticks repaint nothing)."""
        now = time_ns()
        x, width = start_column(self.layout)
        if width:
            top = int(self.scroll_offset.y)
            visible = self.rows[top : top + max(0, self.scrollable_content_region.height - self.HEADER_LINES)]
            for line, analysis in enumerate(visible, self.HEADER_LINES):
                if relative_age(analysis.start_ns, now) != relative_age(analysis.start_ns, self._now_ns):
                    self.refresh(Region(x, line, width, 1))
        self._now_ns = now

    def _with_age(self, strip: Strip, start_ns: int | None) -> Strip:
        """A drawn row with its start column's text replaced by the trace's age, in that column's own style (dim,
        with the cursor's background on the cursor's row)."""
        x, width = start_column(self.layout)
        if not width:
            return strip
        style = next(iter(strip.crop(x, x + 1))).style
        age = Strip([Segment(relative_age(start_ns, self._now_ns).ljust(width)[:width], style)], width)
        return Strip.join([strip.crop(0, x), age, strip.crop(x + width)])

    @property
    def order(self) -> SortOrder:
        return self.app.index.order  # type: ignore[attr-defined]

    def action_sort(self) -> None:
        """s: sort by the next column (start, duration, tokens, cost, spans, flags)."""
        self._reorder(self.order.next_key())

    def action_reverse_sort(self) -> None:
        """S: reverse the sort."""
        self._reorder(self.order.reversed())

    def _reorder(self, order: SortOrder) -> None:
        self.app.index.order = order  # type: ignore[attr-defined]
        self.refresh_header()
        self.app.request_rows()  # type: ignore[attr-defined]

    def action_cycle_service(self) -> None:
        """v: list one service's traces, the next one each press, then all again."""
        if len(self.services) < 2 and self.app.index.service is None:  # type: ignore[attr-defined]
            self.app.notify("One service only: nothing to filter", timeout=3)
            return
        choices: list[str | None] = [None, *self.services]
        current = self.app.index.service  # type: ignore[attr-defined]
        position = choices.index(current) if current in choices else 0
        self.app.index.service = choices[(position + 1) % len(choices)]  # type: ignore[attr-defined]
        self.refresh_header()
        self.app.request_rows()  # type: ignore[attr-defined]

    def _announce(self) -> None:
        current = self.current
        trace_id = current.trace_id if current is not None else None
        if trace_id != self._announced:
            self._announced = trace_id
            self.post_message(self.Highlighted(trace_id, followed=self._following))

    @property
    def layout(self) -> ListLayout:
        """The columns for the rows on screen now (cached until the rows, the scroll position or the width
        change): O(visible rows)."""
        width = self.scrollable_content_region.width or self.size.width
        top = int(self.scroll_offset.y)
        height = max(1, self.scrollable_content_region.height - self.HEADER_LINES)
        key = (self._serial, top, height, width, self.ages)
        if self._layout is None or self._layout[0] != key:
            self._layout = (key, list_layout(width, self.rows[top : top + height], services=len(self.services) > 1, ages=self.ages))
        return self._layout[1]

    def header_text(self) -> Text:
        """The column header, with the sort shown on its column and the list's modes (FOLLOW, the service
        filter) beside it."""
        layout = self.layout
        order = self.order
        modes = []
        service = self.app.index.service  # type: ignore[attr-defined]
        if service is not None:
            modes.append(f"service:{safe(service, True, 40)}")
        if self.follow:
            modes.append("FOLLOW")
        return trace_header(layout, order.key, not order.reverse, zone_name(), " ".join(modes), ages=self.ages)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        if y == 0:
            text = self.header_text()
            style = self.rich_style + self.get_component_rich_style("trace-list--header")
            segments = list(text.render(self.app.console, end=""))
            return Strip(Segment.apply_style(segments, style), text.cell_len).adjust_cell_length(width, style)
        row_index = int(self.scroll_offset.y) + y - self.HEADER_LINES
        if row_index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        layout = self.layout
        analysis = self.rows[row_index]
        is_cursor = row_index == self.cursor
        is_marked = analysis.trace_id == self.marked
        key = (analysis.trace_id, analysis.version, layout, is_cursor, self.has_focus, is_marked)
        strip = self._cache.get(key)
        if strip is None:
            text = trace_row(analysis, layout, marked=is_marked)
            style: Style = self.rich_style
            if is_cursor:
                style = style + self.get_component_rich_style("trace-list--cursor")
            segments = list(text.render(self.app.console, end=""))
            strip = Strip(Segment.apply_style(segments, style), text.cell_len).adjust_cell_length(width, style)
            self._cache[key] = strip
        return self._with_age(strip, analysis.start_ns) if self.ages else strip

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + self.HEADER_LINES)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event) -> None:
        row = int(self.scroll_offset.y) + event.y - self.HEADER_LINES
        if event.y >= self.HEADER_LINES and 0 <= row < len(self.rows):
            self._user_moved()
            self.cursor = row
