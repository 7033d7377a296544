"""The Routes screen's table: a line-API view, because its numbers change twice a second while traces stream in.

A DataTable renders each cell through Rich and drops its caches on every `update_cell`; with ~17 columns of
changing numbers it spent most of the UI thread's time repainting (keys waited up to a second under a 1,000
traces/s stream, bench/ui.py). Here a row is one Text, built from fixed-width cells and cached as a Strip by its
content, so a refresh costs the visible lines once. The header stays on line 0, the first column stays pinned
while the rest scrolls sideways (h/l, arrows), and the keys are the trace list's.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .row_cursor import RowCursor

Cell = tuple[str, str]  # text, Rich style
Column = tuple[str, str, bool]  # key, header, right-aligned?
GAP = "  "
SIDE_STEP = 8  # cells per h/l


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
        Binding("j,down", "cursor_down", "Down", show=False),
        Binding("k,up", "cursor_up", "Up", show=False),
        Binding("g,home", "first", "Top", show=False),
        Binding("G,end", "last", "Bottom", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("h,left", "side(-1)", "Scroll left", show=False),
        Binding("l,right", "side(1)", "Scroll right", show=False),
    ]

    cursor = reactive(0, repaint=False)

    class Highlighted(Message):
        """The cursor moved to another row (route_id None: the table is empty)."""

        def __init__(self, route_id: str | None) -> None:
            super().__init__()
            self.route_id = route_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: list[Column] = []
        self.widths: list[int] = []
        self.rows: list[tuple[str, tuple[Cell, ...]]] = []
        self._cache: LRUCache[tuple, Strip] = LRUCache(512)
        self._announced: str | None = None

    # -- data ----------------------------------------------------------------------------------------------------

    def show(self, columns: list[Column], widths: list[int], rows: list[tuple[str, tuple[Cell, ...]]]) -> None:
        """Replace the rows (route id, cells in column order), keeping the cursor on the same route."""
        current = self.current_id
        if columns != self.columns or widths != self.widths:
            self._cache.clear()
        self.columns, self.widths, self.rows = columns, widths, rows
        self.virtual_size = Size(self._line_width, len(rows) + 1)
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
        """The cells of a row as shown (tests read the table through this)."""
        return [text for text, _ in self.rows[index][1]]

    @property
    def _line_width(self) -> int:
        return sum(self.widths) + len(GAP) * max(0, len(self.widths) - 1) + 2

    @property
    def _pinned(self) -> int:
        return 1 + (self.widths[0] + len(GAP) if self.widths else 0)

    # -- rendering -----------------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        if y == 0:
            cells = tuple((header, "") for _, header, _ in self.columns)
            full = self._strip(("header",), cells, self.get_component_rich_style("route-table--header"))
        else:
            index = int(self.scroll_offset.y) + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, self.rich_style)
            route_id, cells = self.rows[index]
            style = self.rich_style
            if index == self.cursor:
                style = style + self.get_component_rich_style("route-table--cursor")
            full = self._strip((route_id, index == self.cursor, self.has_focus), cells, style)
        pinned, side = self._pinned, int(self.scroll_offset.x)
        visible = Strip.join([full.crop(0, pinned), full.crop(pinned + side, pinned + side + max(0, width - pinned))])
        return visible.adjust_cell_length(width, self.rich_style)

    def _strip(self, key: tuple, cells: tuple[Cell, ...], style: Style) -> Strip:
        key = (*key, cells)
        strip = self._cache.get(key)
        if strip is None:
            line = Text(" ", no_wrap=True)
            for index, ((text, cell_style), width, (_, _, right)) in enumerate(zip(cells, self.widths, self.columns)):
                if index:
                    line.append(GAP)
                fitted = text[:width] if len(text) > width else (text.rjust(width) if right else text.ljust(width))
                line.append(fitted, style=cell_style or None)
            line.append(" ")
            segments = list(line.render(self.app.console, end=""))
            strip = Strip(Segment.apply_style(segments, style), line.cell_len)
            self._cache[key] = strip
        return strip

    # -- cursor and scrolling ------------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        top = int(self.scroll_offset.y)
        self.refresh_line(old - top + 1)
        self.refresh_line(new - top + 1)
        height = max(1, self.scrollable_content_region.height - 1)  # the header takes a line
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self._announce()

    def _announce(self) -> None:
        current = self.current_id
        if current != self._announced:
            self._announced = current
            self.post_message(self.Highlighted(current))

    def on_resize(self) -> None:
        self.virtual_size = Size(self._line_width, len(self.rows) + 1)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event) -> None:
        row = int(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.rows):
            self.cursor = row

    def action_side(self, direction: int) -> None:
        self.scroll_to(x=max(0, int(self.scroll_offset.x) + direction * SIDE_STEP), animate=False)
