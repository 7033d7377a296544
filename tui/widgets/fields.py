"""Key/value rows that fit the pane they are drawn in (Info, Attrs, event attributes).

A two-column grid whose key column never wraps gives the whole pane to a long key (`llm.input_messages.0.message
.content`) and leaves its value no room. So the layout is chosen at render time from the width Rich offers: two
columns while the longest key fits in KEY_SHARE of the width, otherwise each key on its own line with its value
indented beneath (as `kubectl describe` does). Keys and values fold rather than being cut.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

KEY_SHARE = 0.4  # the most of the width the key column may take
MIN_KEY_COLUMN = 12  # below this even short keys stack: a 30-cell pane still reads as rows


class FieldList:
    def __init__(self) -> None:
        self.rows: list[tuple[Text, RenderableType]] = []

    def add_row(self, key: Text, value: RenderableType) -> None:
        self.rows.append((key, value))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        longest = max((key.cell_len for key, _ in self.rows), default=0)
        if longest <= max(MIN_KEY_COLUMN, int(width * KEY_SHARE)):
            table = Table.grid(padding=(0, 2))
            table.add_column(no_wrap=True, width=longest)
            table.add_column(overflow="fold")
            for key, value in self.rows:
                table.add_row(key, value)
            yield table
            return
        for key, value in self.rows:
            folded = key.copy()
            folded.overflow = "fold"
            yield folded
            yield Padding(value, (0, 0, 0, 2))
