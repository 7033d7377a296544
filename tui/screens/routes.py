"""`r`: the routes of everything loaded, one row per route (or per family), live while traces arrive.

The numbers come from the engine's RouteBook (`orchtui.analysis.routes`), the same ones `orchtui routes` prints.
Stats are computed in a worker whenever the book's generation moved (at most twice a second), and the table is
rebuilt in one batch keeping the cursor on the same route. Enter dismisses the screen with the chosen route; the
app then filters the trace list to its traces.
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
from ..widgets.key_table import KeyTable

REFRESH_SECONDS = 0.5
CLIP = {"path": 48, "models": 40}  # the detail line below the table shows these in full


class RoutesScreen(Screen[RouteFilter | None]):
    DEFAULT_CSS = """
    RoutesScreen #routes-box { border: round $accent; height: 1fr; }
    RoutesScreen DataTable { height: 1fr; width: 1fr; }
    RoutesScreen #route-detail { height: auto; max-height: 9; padding: 0 1; border-top: solid $primary 50%; }
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
            yield KeyTable(id="routes-table", cursor_type="row", zebra_stripes=True, fixed_columns=1)  # the family stays in view
            yield Static(id="route-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.table = self.query_one(KeyTable)
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
        stats = self.book.stats(by)
        self.app.call_from_thread(self._apply, by, stats)

    def _apply(self, by: str, stats: list[RouteStats]) -> None:
        if by != self.by or not self.is_attached:
            return
        table = self.table
        current = self.current
        keep = current.route_id if current is not None else None
        self.stats = stats
        with self.app.batch_update():
            table.clear(columns=not table.columns)
            if not table.columns:
                for key, label, _ in route_columns(by):
                    table.add_column(label, key=key)
            columns = route_columns(by)
            for route in stats:
                cells = route_cells(route)
                row = (Text(_clip(cells[key][0], CLIP.get(key)), style=cells[key][1], justify="right" if right else "left") for key, _, right in columns)
                table.add_row(*row, key=route.route_id)
            if keep is not None and keep in table.rows:
                table.move_cursor(row=table.get_row_index(keep))
        self._show_detail()
        if not stats:
            self.detail.update(Text("No finished traces yet: a route is counted when its trace completes.", style="dim"))

    @property
    def current(self) -> RouteStats | None:
        if not self.stats or self.table.cursor_row < 0 or self.table.cursor_row >= len(self.stats):
            return None
        return self.stats[self.table.cursor_row]

    @on(KeyTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        route = self.current
        if route is None:
            return
        self.detail.update(route_detail(route, self.by))

    def action_toggle_by(self) -> None:
        self.by = BY_FAMILY if self.by == BY_PATH else BY_PATH
        self.table.clear(columns=True)
        self.stats = []
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


def _clip(text: str, width: int | None) -> str:
    return text if width is None or len(text) <= width else text[: width - 1] + "…"
