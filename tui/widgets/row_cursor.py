"""The movement of a line-API list whose `cursor` indexes `rows` (the trace list, the route table), in one place so
every list answers j/k, g/G and the page keys the same way, and repaints the right lines when scrolled."""

from __future__ import annotations

from textual.binding import Binding
from textual.geometry import Region


def cursor_bindings(keymap_prefix: str | None = None) -> list[Binding]:
    """j/k, g/G and the page keys of a RowCursor list; with `keymap_prefix`, each gets an id the user's keymap can
    rebind (`trace_list.down`, ...)."""
    keys = (
        ("j,down", "cursor_down", "Down", "down"),
        ("k,up", "cursor_up", "Up", "up"),
        ("g,home", "first", "Top", "top"),
        ("G,end", "last", "Bottom", "bottom"),
        ("pagedown", "page_down", "Page down", "page_down"),
        ("pageup", "page_up", "Page up", "page_up"),
    )
    return [
        Binding(key, action, description, show=False, id=f"{keymap_prefix}.{name}" if keymap_prefix else None)
        for key, action, description, name in keys
    ]


class RowCursor:
    """Mixed into a ScrollView that has `rows` and a reactive `cursor`; HEADER_LINES are lines above the rows."""

    HEADER_LINES = 0
    rows: list
    cursor: int

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1 - self.HEADER_LINES)  # type: ignore[attr-defined]

    def refresh_row(self, index: int) -> None:
        """Repaint row `index` wherever it is on screen. `ScrollView.refresh_line` takes a line of the whole
        (virtual) list and subtracts the scroll offset itself: given an on-screen line, it repainted the wrong
        line once the list scrolled, and the cursor stayed drawn on the row it left."""
        self.refresh_line(index + self.HEADER_LINES)  # type: ignore[attr-defined]

    def refresh_header(self) -> None:
        """Repaint the header lines, which stay at the top of the widget however far the list is scrolled."""
        self.refresh(Region(0, 0, self.size.width, self.HEADER_LINES))  # type: ignore[attr-defined]

    def action_cursor_down(self) -> None:
        if self.cursor < len(self.rows) - 1:
            self.cursor += 1

    def action_cursor_up(self) -> None:
        if self.cursor > 0:
            self.cursor -= 1

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, len(self.rows) - 1)

    def action_page_down(self) -> None:
        self.cursor = min(max(0, len(self.rows) - 1), self.cursor + self._page)

    def action_page_up(self) -> None:
        self.cursor = max(0, self.cursor - self._page)
