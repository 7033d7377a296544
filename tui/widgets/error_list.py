"""Every read error, one line each (source, then message), for the sources screen (`!`).

A file with a million bad lines has a million read errors, so this is a line-API view over the store's own list
(append-only, shared by reference): a refresh reads its length, and painting escapes only the visible lines. The
cursor answers the keys of every other list (j/k, g/G, page keys); `Highlighted` tells the screen which error to
show in full.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from parsers.span import ReadError

from ..render import safe
from .row_cursor import RowCursor, cursor_bindings

SOURCE_CHARS = 40  # of a source on its line (the full one is in the detail below)
LINE_CHARS = 400  # escaped per line: a megabyte message costs no more than a short one


class ErrorList(RowCursor, ScrollView, can_focus=True):
    DEFAULT_CSS = """
    ErrorList { background: $surface; }
    ErrorList > .error-list--cursor { background: $accent 40%; }
    ErrorList:focus > .error-list--cursor { background: $accent; color: $text; text-style: bold; }
    ErrorList > .error-list--empty { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"error-list--cursor", "error-list--empty"}
    BINDINGS = cursor_bindings()

    cursor = reactive(0, repaint=False)

    class Highlighted(Message):
        """The cursor moved (index None: there are no errors)."""

        def __init__(self, index: int | None) -> None:
            super().__init__()
            self.index = index

    def __init__(self, errors: Sequence[ReadError], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.errors = errors
        self.rows: range = range(0)  # RowCursor moves over these
        self.empty = Text("No read errors.")
        self._announced: int | None = -1

    def update_count(self) -> None:
        """Take in errors appended since the last call (the list only grows)."""
        count = len(self.errors)
        if count != len(self.rows):
            self.rows = range(count)
            self.virtual_size = Size(0, count)
            self.refresh()
        self._announce()

    def set_empty(self, text: Text) -> None:
        """What the list says while it has no errors (the screen knows whether anything arrived at all)."""
        if text.plain != self.empty.plain:
            self.empty = text
            self.refresh()

    @property
    def current(self) -> ReadError | None:
        return self.errors[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        index = int(self.scroll_offset.y) + y
        if not self.rows:
            if y != 0:
                return Strip.blank(width, self.rich_style)
            line = self.empty.copy()
            line.stylize(self.get_component_rich_style("error-list--empty"))
        elif index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        else:
            error = self.errors[index]
            line = Text(no_wrap=True, end="")
            line.append(" ")
            line.append(safe(error.source, True, SOURCE_CHARS), style="bold")
            line.append("  ")
            line.append(safe(error.message, True, LINE_CHARS))
        style = self.rich_style
        if self.rows and index == self.cursor:
            style = style + self.get_component_rich_style("error-list--cursor")
        line.truncate(width, overflow="ellipsis", pad=True)
        segments = list(line.render(self.app.console, end=""))
        return Strip(Segment.apply_style(segments, style), line.cell_len).crop(0, width).adjust_cell_length(width, style)

    def watch_cursor(self, old: int, new: int) -> None:
        top = int(self.scroll_offset.y)
        self.refresh_row(old)
        self.refresh_row(new)
        height = max(1, self.scrollable_content_region.height)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self._announce()

    def _announce(self) -> None:
        current = self.cursor if self.rows else None
        if current != self._announced:
            self._announced = current
            self.post_message(self.Highlighted(current))

    def on_click(self, event) -> None:
        row = int(self.scroll_offset.y) + event.y
        if 0 <= row < len(self.rows):
            self.cursor = row
