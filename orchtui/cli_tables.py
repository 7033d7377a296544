"""CLI tables that fit the terminal: columns dropped by priority, never cut to `$0.00…` or `S`.

Rich shrinks a too-wide table by cutting every no-wrap cell with an ellipsis, which turns a cost into `$0.00…`,
a flag into `S` and a verdict into `pa…`. Instead each column says how long it is kept (`keep`; None: always,
the identifying column and the verdict) and, when the whole table does not fit the console, the least needed
columns go, named in a note under the table. Kept columns that may wrap (a name, a list of flags) wrap at words
or fold; the others keep their natural width, so what is shown is whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO, Any

NARROW_NOTE = "not shown at {width} columns: {names} (a wider terminal or --json shows them)"


# A table of more traces than this lists only the ones with something to say (`--all` lists every one): a row per
# trace of a 100k-span file is 5,000 lines nobody reads, and Rich drew them in 40% of `check`'s time.
LIST_EVERY_TRACE_UP_TO = 100


def count_traces(count: int, more: str = "") -> str:
    """`1 trace`, `1,406 more traces`: the note under a table that did not list them all."""
    return f"{count:,} {more}{'trace' if count == 1 else 'traces'}"


@dataclass(frozen=True)
class Column:
    header: str
    justify: str = "left"
    keep: int | None = None  # higher is kept longer; None: never dropped
    wrap: bool = False  # may wrap (at words, folding a word longer than the column)
    wrap_width: int = 24  # the width a wrapping column is planned with (narrower cells take less)


def make_console(out: IO[str], piped_width: int) -> Any:
    """A Rich console for a table: the terminal's width, or `piped_width` when piped (CI logs read the same
    everywhere) unless COLUMNS says otherwise."""
    from rich.console import Console

    console = Console(file=out, highlight=False)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console.width = piped_width
    return console


def fit_table(console: Any, columns: list[Column], rows: list[list[Any]], **options: Any) -> tuple[Any, list[str]]:
    """A Rich table of the columns that fit `console.width` (the others dropped, least kept first), and the
    headers of the dropped columns. Cells are Rich Text or str."""
    from rich.cells import cell_len
    from rich.measure import Measurement
    from rich.table import Table

    def natural(index: int) -> int:
        column = columns[index]
        widest = max([cell_len(line) for row in rows for line in str(_plain(row[index])).split("\n")] + [cell_len(column.header)])
        return min(widest, column.wrap_width) if column.wrap else widest

    widths = [natural(index) for index in range(len(columns))]
    unbounded = console.options.update_width(1 << 16)  # Measurement clamps to the width it is given
    shown = list(range(len(columns)))
    dropped: list[int] = []
    while True:
        probe = Table(**options)
        for index in shown:
            probe.add_column(columns[index].header)
        probe.add_row(*("x" * max(widths[index], 1) for index in shown))
        if Measurement.get(console, unbounded, probe).maximum <= console.width:
            break
        droppable = [index for index in shown if columns[index].keep is not None]
        if not droppable:
            break
        least = min(droppable, key=lambda index: columns[index].keep)  # type: ignore[arg-type,return-value]
        shown.remove(least)
        dropped.append(least)
    table = Table(**options)
    for index in shown:
        column = columns[index]
        table.add_column(column.header, justify=column.justify, no_wrap=not column.wrap, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(row[index] for index in shown))
    return table, [columns[index].header for index in sorted(dropped)]


def narrow_note(console: Any, dropped: list[str]) -> Any:
    """The dim line naming the columns a narrow terminal left out (None when all are shown)."""
    from rich.text import Text

    if not dropped:
        return None
    return Text(NARROW_NOTE.format(width=console.width, names=", ".join(dropped)), style="dim")


def _plain(cell: Any) -> str:
    return cell.plain if hasattr(cell, "plain") else str(cell)
