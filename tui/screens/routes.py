"""`r`: the routes of everything loaded, one row per route (or per family), live while traces arrive.

The numbers come from the engine's RouteBook (`orchtui.analysis.routes`), the same ones `orchtui routes` prints,
in the order a triager reads them: what the route is, how many traces, whether they succeed, loop or stop badly
(one group, never split: a route that loops every time must not read "ok 100%" alone), then latency and cost. The
family and the route stay pinned; the rest scrolls sideways a group at a time, and the route column gives up width
so that first group fits at 80 columns.
When the book's generation moved (checked twice a second), a worker computes the stats and their cells; the UI
thread only hands the rows to the line-API RouteTable, which repaints the visible lines and keeps the cursor on its
route. Enter dismisses the screen with the chosen route; the app then filters the trace list to its traces.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from orchtui.analysis.routes import BY_FAMILY, BY_PATH, RouteBook, RouteStats
from orchtui.formatting import format_count
from orchtui.live import RouteFilter
from orchtui.routes_report import EXPENSIVE_MARK, EXPENSIVE_STYLE, LEGEND, compact_path, route_cells, route_columns

from ..render import safe
from ..widgets.route_table import Cell, Column, Layout, RouteTable

REFRESH_SECONDS = 0.5
CLIP = {"family": 24, "path": 48, "models": 40}  # the detail line below the table shows these in full
PINNED = ("family", "path")
# Shown together or not at all, in this order; keys a column list lacks (no route by family) are left out.
GROUPS = (("traces", "ok", "loops", "stops"), ("p95",), ("cost",), ("share",), ("p50",), ("p99",), ("tokens",),
          ("cost_p95",), ("retries",), ("tool_errors", "timeouts"), ("models",))
ROUTE_MIN = 16  # the route column shrinks to this (its full path is in the detail below) before the rates hide
# The widest each number's format gets ("12.3k", "59.99s", "$0.000080"), so columns do not jump as counts grow.
NUMBER_WIDTHS = {"traces": 6, "share": 4, "ok": 4, "p50": 6, "p95": 6, "p99": 6, "tokens": 6, "cost": 9, "cost_p95": 9,
                 "retries": 5, "tool_errors": 4, "timeouts": 4, "loops": 4, "stops": 4}
EMPTY = "No finished traces yet: a route is counted when its trace completes."


class RoutesScreen(Screen[RouteFilter | None]):
    DEFAULT_CSS = """
    RoutesScreen #routes-box { border: round $accent; height: 1fr; }
    RoutesScreen RouteTable { height: 1fr; }
    RoutesScreen #route-detail { height: 7; padding: 0 1; border-top: solid $primary 50%; }
    """
    BINDINGS = [
        Binding("escape,r,q", "close", "Back", id="routes.close"),
        Binding("b", "toggle_by", "By family/path", id="routes.by"),
        Binding("enter", "choose", "Show traces", id="routes.choose", priority=True),
    ]

    def __init__(self, book: RouteBook, by: str = BY_PATH) -> None:
        super().__init__()
        self.book = book
        self.by = by
        self.stats: list[RouteStats] = []
        self._seen: tuple[int, str] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="routes-box"):
            yield RouteTable(id="routes-table")
            yield Static(id="route-detail")  # a fixed height: its updates never re-lay out the table
        yield Footer()

    def on_mount(self) -> None:
        self.table = self.query_one(RouteTable)
        self.detail = self.query_one("#route-detail", Static)
        self._set_title()
        self.table.focus()
        self._refresh()
        self.set_interval(REFRESH_SECONDS, self._refresh)

    def _set_title(self) -> None:
        other = BY_FAMILY if self.by == BY_PATH else BY_PATH
        self.query_one("#routes-box").border_title = f"routes by {self.by} (b: by {other}, enter: show its traces)"

    def _refresh(self) -> None:
        seen = (self.book.generation, self.by)
        if seen != self._seen:
            self._seen = seen
            self._compute(self.by)

    @work(thread=True, exclusive=True, group="routes", exit_on_error=False)
    def _compute(self, by: str) -> None:
        """Stats, cells and column widths, off the event loop."""
        stats = self.book.stats(by)
        columns, layout = ordered_columns(route_columns(by))
        rows = [(route.route_id, tuple(_cells(route_cells(route), columns))) for route in stats]
        self.app.call_from_thread(self._apply, by, stats, columns, column_widths(columns, rows), rows, layout)

    def _apply(self, by: str, stats: list[RouteStats], columns: list[Column], widths: list[int], rows: list, layout: Layout) -> None:
        if by != self.by or not self.is_attached:
            return
        self.stats = stats
        self.table.show(columns, widths, rows, layout)
        self._show_detail()

    @property
    def current(self) -> RouteStats | None:
        cursor = self.table.cursor
        return self.stats[cursor] if 0 <= cursor < len(self.stats) else None

    @on(RouteTable.Highlighted)
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        route = self.current
        self.detail.update(route_detail(route, self.by) if route is not None else Text(EMPTY, style="dim"))

    def action_toggle_by(self) -> None:
        self.by = BY_FAMILY if self.by == BY_PATH else BY_PATH
        self._set_title()
        self._refresh()

    def action_choose(self) -> None:
        route = self.current
        if route is None:
            return
        if self.by == BY_FAMILY:
            self.dismiss(RouteFilter(BY_FAMILY, route.family, route.family))
        else:
            self.dismiss(RouteFilter(BY_PATH, route.route_id, f"{route.family}: {compact_path(route.path)}"))

    def action_close(self) -> None:
        self.dismiss(None)


def ordered_columns(columns: list[Column]) -> tuple[list[Column], Layout]:
    """The columns in reading priority (pinned, then GROUPS), and the table layout that keeps groups whole."""
    by_key = {column[0]: column for column in columns}
    pinned = [key for key in PINNED if key in by_key]
    groups = [[key for key in group if key in by_key] for group in GROUPS]
    groups = [group for group in groups if group]
    placed = set(pinned).union(*groups)
    groups.extend([key] for key in by_key if key not in placed)  # a column added to the report later still shows
    keys = pinned + [key for group in groups for key in group]
    position = {key: index for index, key in enumerate(keys)}
    layout = Layout(
        pinned=len(pinned),
        groups=tuple(tuple(position[key] for key in group) for group in groups),
        flexible=position.get("path"),
        flexible_min=ROUTE_MIN,
    )
    return [by_key[key] for key in keys], layout


def column_widths(columns: list[Column], rows: list[tuple[str, tuple[Cell, ...]]]) -> list[int]:
    """Numbers get their format's widest, names their widest cell (clipped); never narrower than the header."""
    widths = []
    for index, (key, header, _) in enumerate(columns):
        widest = NUMBER_WIDTHS.get(key) or max((len(cells[index][0]) for _, cells in rows), default=0)
        widths.append(max(len(header), widest))
    return widths


def route_detail(route: RouteStats, by: str) -> Text:
    text = Text()
    text.append(safe(route.family, True), style="bold")
    if by == BY_PATH:
        text.append("  ")
        text.append(safe(route.label, True))
    text.append(f"\n{format_count(route.traces)} trace{'' if route.traces == 1 else 's'}", style="dim")
    if route.models:
        text.append(" · models: ", style="dim")
        text.append(", ".join(safe(model, True) for model in route.models), style="magenta")
    for reason in route.expensive_reasons:
        text.append("\n" + EXPENSIVE_MARK + "expensive branch: ", style=EXPENSIVE_STYLE)
        text.append(safe(reason, True))
    text.append("\n" + LEGEND, style="dim")
    return text


def _cells(cells: dict[str, Cell], columns: list[Column]):
    for key, _, _ in columns:
        text, style = cells[key]
        width = CLIP.get(key)
        yield (text if width is None or len(text) <= width else text[: width - 1] + "…", style)
