"""Command palette (ctrl+p): jump to a trace by name or id, switch quick filters, open help.

Entries carry trace names and ids, so they are escaped (`printable`, clipped) and shown as `Content`, never as a
str: Textual parses a str prompt, and its own `Matcher.highlight`, as markup (`[link=…]` crashed the palette,
`[@click=app.quit]` acted).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content

from orchtui.live import QUICK_FILTERS
from orchtui.textsafe import printable

if TYPE_CHECKING:
    from .app import OrchApp

MAX_TRACE_HITS = 200
NAME_CHARS = 80  # of a trace name in an entry: fuzzy matching a megabyte name would stall the palette


class TraceCommands(Provider):
    @property
    def orch(self) -> "OrchApp":
        return self.app  # type: ignore[return-value]

    def _commands(self) -> list[tuple[str, object, str]]:
        app = self.orch
        commands: list[tuple[str, object, str]] = [
            (f"Filter: {name}", partial(app.set_quick_filter, name), f"Show {name} traces") for name in QUICK_FILTERS
        ]
        commands.append(("Help: keys", app.action_help, "Show every key"))
        commands.append(("Save trace as OTLP/JSON", app.action_save_trace, "Write the selected trace to a file"))
        commands.append(("Routes", app.action_routes, "Numbers per route; enter lists a route's traces"))
        commands.append(("Sources and read errors", app.action_sources, "Files followed, receiver, spool, counts; every read error (!)"))
        commands.append(("Evaluate trace", app.action_evaluate, "Run the evaluators on the selected trace"))
        commands.append(("Mark trace for compare", app.action_mark, "The A side of the next compare"))
        commands.append(("Compare with marked trace or golden route", app.action_compare, "Steps aligned side by side"))
        commands.append(("Save golden route", app.action_save_golden_route, "Append the trace's tool path to the gate file"))
        commands.append(("Search steps of the trace", app.action_search_steps, "Name, tool, model, attribute value, message text (n/N)"))
        commands.append(("Hide / show plumbing steps", app.action_toggle_plumbing, "Prompt templates, parsers, routers, one-child chains (z)"))
        commands.append(("Start times: clock / age", app.trace_list.action_toggle_ages, "Local time with date and zone, or 12s ago, 3m ago (t)"))
        for analysis in app.index.rows()[: 10 * MAX_TRACE_HITS]:
            commands.append(
                (
                    f"Trace: {printable(analysis.name, True, NAME_CHARS)} {printable(analysis.trace_id[:12], True)}",
                    partial(app.jump_to_trace, analysis.trace_id),
                    "Jump to this trace",
                )
            )
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands()[:20]:
            yield DiscoveryHit(Content(name), callback, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        hits = 0
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, highlight(matcher, name), callback, text=name, help=help_text)
                hits += 1
                if hits >= MAX_TRACE_HITS:
                    return


def highlight(matcher: Matcher, text: str) -> Content:
    """`Matcher.highlight` without its markup parsing: the matched characters of plain `text` in the match style."""
    content = Content(text)
    _, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
