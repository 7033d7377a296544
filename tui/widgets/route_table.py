"""The Routes screen's table: a line-API view, because its numbers change twice a second while traces stream in.

A DataTable renders each cell through Rich and drops its caches on every `update_cell`; with ~17 columns of
changing numbers it spent most of the UI thread's time repainting (keys waited up to a second under a 1,000
traces/s stream, bench/ui.py). Here a row is one Text, built from fixed-width cells and cached as a Strip by its
content, so a refresh costs the visible lines once. The header stays on line 0.

Columns come in priority order. The first `pinned` columns (what names a route) always show; the others come in
groups that are shown whole or not at all, and h/l (arrows) scroll sideways by a group. So a half-visible column
never shows the tail of a number (`00%` for 100%), and columns meant to be read together (success, loop and stop
rates) are never split. One pinned column may be `flexible`: it gives up width (its text clipped with `…`) so the
first group still fits beside it on a narrow terminal. `‹` and `›` in the header say columns are hidden that way.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .row_cursor import RowCursor, cursor_bindings

Cell = tuple[str, str]  # text, Rich style
Column = tuple[str, str, bool]  # key, header, right-aligned?
GAP = "  "
MORE_LEFT, MORE_RIGHT = "‹", "›"


@dataclass(frozen=True)
class Layout:
    """How the columns share the width: pinned columns, groups of the others (indexes), a flexible column."""

    pinned: int = 1
    groups: tuple[tuple[int, ...], ...] = ()
    flexible: int | None = None  # index of a pinned column that shrinks to make room
    flexible_min: int = 12


class RouteTable(RowCursor, ScrollView, can_focus=True):
    HEADER_LINES = 1
    DEFAULT_CSS = """
    RouteTable { background: $surface; }
    RouteTable > .route-table--header { text-style: bold; color: $text-accent; }
    RouteTable > .route-table--cursor { background: $accent 40%; }
    RouteTable:focus > .route-table--cursor { background: $accent; color: $text; }
    """
    COMPONENT_CLASSES = {"route-table--header", "route-table--cursor"}
    BINDINGS = [
        *cursor_bindings(),
        Binding("h,left", "side(-1)", "Columns", key_display="h/l", id="routes.columns"),
        Binding("l,right", "side(1)", "Columns", show=False),
    ]

    cursor = reactive(0, repaint=False)
    first_group = reactive(0, repaint=False)  # the first scrolling group shown

    class Highlighted(Message):
        """The cursor moved to another row (route_id None: the table is empty)."""

        def __init__(self, route_id: str | None) -> None:
            super().__init__()
            self.route_id = route_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: list[Column] = []
        self.widths: list[int] = []
        self.column_layout = Layout()
        self.rows: list[tuple[str, tuple[Cell, ...]]] = []
        self._cache: LRUCache[tuple, Strip] = LRUCache(512)
        self._announced: str | None = None
        self._shown: tuple[tuple[int, ...], tuple[int, ...], bool, bool] = ((), (), False, False)

    # -- data ----------------------------------------------------------------------------------------------------

    def show(self, columns: list[Column], widths: list[int], rows: list[tuple[str, tuple[Cell, ...]]], layout: Layout | None = None) -> None:
        """Replace the rows (route id, cells in column order), keeping the cursor on the same route. `widths` are
        each column's natural width (the flexible one may get less)."""
        current = self.current_id
        layout = layout or Layout(groups=tuple((index,) for index in range(1, len(columns))))
        if columns != self.columns or layout != self.column_layout:
            self.set_reactive(RouteTable.first_group, 0)
        self.columns, self.widths, self.column_layout, self.rows = columns, widths, layout, rows
        self._fit()
        self.virtual_size = Size(0, len(rows) + 1)
        positions = {route_id: index for index, (route_id, _) in enumerate(rows)}
        if current in positions:
            self.set_reactive(RouteTable.cursor, positions[current])
        self.cursor = min(self.cursor, max(0, len(rows) - 1))
        self.refresh()
        self._announce()

    @property
    def current_id(self) -> str | None:
        return self.rows[self.cursor][0] if 0 <= self.cursor < len(self.rows) else None

    def row_text(self, index: int) -> list[str]:
        """The cells of a row (tests read the table through this)."""
        return [text for text, _ in self.rows[index][1]]

    @property
    def visible_columns(self) -> list[str]:
        """The keys of the columns on screen now, left to right."""
        return [self.columns[index][0] for index in self._shown[0]]

    # -- layout --------------------------------------------------------------------------------------------------

    def _room(self) -> int:
        return max(0, (self.scrollable_content_region.width or self.size.width) - 3)  # a space each side, one for `›`

    def _fit(self) -> None:
        """Which columns show at this width and scroll position, and how wide each is."""
        layout, room = self.column_layout, self._room()
        pinned = list(range(min(layout.pinned, len(self.columns))))
        widths = list(self.widths)
        spans = [sum(widths[i] + len(GAP) for i in group) for group in layout.groups]
        pinned_width = sum(widths[i] + len(GAP) for i in pinned)
        flexible = layout.flexible
        if flexible is not None and flexible < len(widths) and spans:
            spare = room - pinned_width - spans[0] + len(GAP)
            if spare < 0:
                narrowest = min(widths[flexible], layout.flexible_min)
                widths[flexible] = max(narrowest, widths[flexible] + spare)
                pinned_width = sum(widths[i] + len(GAP) for i in pinned)
        first = min(self.first_group, max(0, len(spans) - 1))
        shown = list(pinned)
        used = pinned_width
        last = first
        for position in range(first, len(spans)):
            if used + spans[position] - len(GAP) > room and position > first:
                break
            shown.extend(layout.groups[position])
            used += spans[position]
            last = position + 1
        fitted = (tuple(shown), tuple(widths), first > 0, last < len(spans))
        if fitted != self._shown:
            self._shown = fitted
            self._cache.clear()

    # -- rendering -----------------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        if y == 0:
            cells = tuple((header, "") for _, header, _ in self.columns)
            line = self._strip(("header",), cells, self.get_component_rich_style("route-table--header"), header=True)
        else:
            index = int(self.scroll_offset.y) + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, self.rich_style)
            route_id, cells = self.rows[index]
            style = self.rich_style
            if index == self.cursor:
                style = style + self.get_component_rich_style("route-table--cursor")
            line = self._strip((route_id, index == self.cursor, self.has_focus), cells, style)
        return line.crop(0, width).adjust_cell_length(width, self.rich_style)

    def _strip(self, key: tuple, cells: tuple[Cell, ...], style: Style, header: bool = False) -> Strip:
        key = (*key, cells)
        strip = self._cache.get(key)
        if strip is None:
            shown, widths, more_left, more_right = self._shown
            pinned = min(self.column_layout.pinned, len(shown))
            line = Text(" ", no_wrap=True)
            for position, index in enumerate(shown):
                text, cell_style = cells[index]
                width = widths[index]
                if position:
                    gap = MORE_LEFT + " " if header and more_left and position == pinned else GAP
                    line.append(gap, style="bold" if gap != GAP else None)
                right = self.columns[index][2]
                fitted = text[: width - 1] + "…" if len(text) > width else (text.rjust(width) if right else text.ljust(width))
                line.append(fitted, style=cell_style or None)
            if header and more_right:
                room = self._room() + 2
                line.pad_right(max(0, room - line.cell_len))
                line.append(MORE_RIGHT, style="bold")
            line.append(" ")
            segments = list(line.render(self.app.console, end=""))
            strip = Strip(Segment.apply_style(segments, style), line.cell_len)
            self._cache[key] = strip
        return strip

    # -- cursor and scrolling ------------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        top = int(self.scroll_offset.y)
        self.refresh_row(old)
        self.refresh_row(new)
        height = max(1, self.scrollable_content_region.height - 1)  # the header takes a line
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self._announce()

    def watch_first_group(self) -> None:
        self._fit()
        self.refresh()

    def _announce(self) -> None:
        current = self.current_id
        if current != self._announced:
            self._announced = current
            self.post_message(self.Highlighted(current))

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self.rows) + 1)
        self._fit()
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event) -> None:
        row = int(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.rows):
            self.cursor = row

    def on_mouse_scroll_left(self, event: events.MouseScrollLeft) -> None:
        event.stop()
        self.action_side(-1)

    def on_mouse_scroll_right(self, event: events.MouseScrollRight) -> None:
        event.stop()
        self.action_side(1)

    def action_side(self, direction: int) -> None:
        """One group left or right; right stops once the last group is on screen."""
        _, _, more_left, more_right = self._shown
        if (direction < 0 and more_left) or (direction > 0 and more_right):
            self.first_group += direction
