"""`?`: every key, grouped by where it works. The help is longer than an 80x24 screen, so it scrolls with the
same keys as every list (j/k, pgdn/pgup, g/G, space)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Everywhere",
        [
            ("tab / shift+tab", "cycle panes: traces → steps → detail"),
            ("/", "filter traces by text (name, route, model, tool, attribute value); esc clears"),
            ("z", "hide / show framework plumbing in the step tree (templates, parsers, routers, one-child chains)"),
            ("f", "cycle quick filters: errors, loops, stop-reason problems, all"),
            ("y", "save the selected trace as an OTLP/JSON file"),
            ("c", "copy over ssh (OSC 52): a menu of the step's id, trace id, prompt, response, tool arguments, ..."),
            ("o", "open the full text of a value in $PAGER (or less); the app waits until you quit it"),
            ("!", "sources and read errors: files, the OTLP endpoint, spool files, every read error in full"),
            ("ctrl+p", "command palette: jump to a trace by name or id, filters, help"),
            ("?", "this help"),
            ("q, ctrl+c", "quit"),
        ],
    ),
    (
        "Trace list",
        [
            ("j / k, ↓ / ↑", "move"),
            ("g / G, home / end", "first / last trace"),
            ("pgup / pgdn", "page"),
            ("enter / l", "open the trace's steps"),
            ("s / S", "sort by the next column (start, duration, tokens, cost, spans, flags) / reverse"),
            ("F", "follow: keep the newest trace selected as traces arrive (moving stops it)"),
            ("v", "with several services: one service's traces, the next each press, then all"),
            ("t", "start times: local clock (date and zone) / age, 12s ago, 3m ago (kept current)"),
        ],
    ),
    (
        "Step tree",
        [
            ("j / k, ↓ / ↑", "move"),
            ("enter / space", "toggle a step"),
            ("h / l", "collapse / expand (h on a collapsed step goes to its parent)"),
            ("[ / ]", "collapse all / expand all"),
            ("n / N", "next / previous flagged step (loop, stop reason, error, retry)"),
            ("/", "search the trace's steps: name, tool, model, attribute values, message text"),
            ("n / N (searching)", "next / previous match; esc ends the search"),
            ("g / G", "top / bottom"),
        ],
    ),
    (
        "Detail",
        [
            ("j / k, pgup / pgdn, g / G", "scroll the tab"),
            ("enter / ↓ (Evals)", "go to the eval findings; enter on one jumps to its step"),
            ("a", "show values in full (they are clipped to 20,000 characters)"),
            ("← / →", "switch tabs"),
        ],
    ),
    (
        "Evaluate, routes and compare",
        [
            ("e", "run the evaluators on the selected trace (Evals tab; a finding jumps to its step)"),
            ("E", "save the trace's tool path as a golden route in the gate file"),
            ("r", "routes: numbers per route, live; enter lists a route's traces (esc clears); h / l scroll columns"),
            ("m", "mark the selected trace as the one to compare against (m again clears)"),
            ("d", "compare with the marked trace, or with its golden route (--spec)"),
            ("p", "pause / resume live sources (nothing is dropped)"),
        ],
    ),
]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: auto; max-height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
        Binding("j", "scroll('down')", "Down", show=False, id="help.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="help.up"),
        Binding("pagedown,space", "scroll('page_down')", "Page down", show=False, id="help.page_down"),
        Binding("pageup", "scroll('page_up')", "Page up", show=False, id="help.page_up"),
        Binding("g", "scroll('home')", "Top", show=False, id="help.top"),
        Binding("G", "scroll('end')", "Bottom", show=False, id="help.bottom"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._table(), id="help-body")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_scroll(self, where: str) -> None:
        """Screen-level keys, so the help scrolls whatever has focus inside it."""
        body = self.query_one(VerticalScroll)
        {
            "down": body.scroll_down, "up": body.scroll_up, "page_down": body.scroll_page_down,
            "page_up": body.scroll_page_up, "home": body.scroll_home, "end": body.scroll_end,
        }[where](animate=False)

    @staticmethod
    def _table() -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        table.add_row(Text("orchtui keys", style="bold"), Text("esc closes · j/k, pgdn/pgup, g/G scroll", style="dim"))
        for title, keys in GROUPS:
            table.add_row("", "")
            table.add_row(Text(title, style="bold underline"), "")
            for key, description in keys:
                table.add_row(Text(key), Text(description))
        table.add_row("", "")
        table.add_row(Text("Legend", style="bold underline"), "")
        # Text, not str: a str cell is markup, and "[length]" vanished as an unknown tag.
        table.add_row(Text("◌ ✓ ✗ ! ·"), Text("running, ok, failed, critical finding, no status recorded"))
        table.add_row(Text("◆ ▣ ⌕ ● ○ ⇄"), Text("LLM call, tool, retriever, agent, chain, hand-off"))
        table.add_row(Text("[length] ↻2 ⟳"), Text("stop reason, retry attempt, loop step"))
        return table
