"""A DataTable that answers the same movement keys as the trace list and step tree (j/k, g/G; h/l scroll a wide
table sideways, as the arrows do), so the keyboard works the same on every screen."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class KeyTable(DataTable):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "First", show=False),
        Binding("G", "scroll_bottom", "Last", show=False),
        Binding("h", "cursor_left", "Left", show=False),
        Binding("l", "cursor_right", "Right", show=False),
    ]
