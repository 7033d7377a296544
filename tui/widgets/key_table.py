"""A DataTable that answers the same movement keys as the trace list and step tree (j/k, g/G), so the keyboard
works the same on every screen."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class KeyTable(DataTable):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "First", show=False),
        Binding("G", "scroll_bottom", "Last", show=False),
    ]
