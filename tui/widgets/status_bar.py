"""The status line: what is loaded, how much, what is wrong with the input, and which filter is on.

Read errors point at `!` (the sources screen lists them); a live source with nothing yet says it is waiting on
it, so an empty list reads as "nothing arrived", not as "nothing matched"."""

from __future__ import annotations

import re
from functools import partial

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.widgets import Static

from orchtui.formatting import format_count

from ..render import safe

SOURCES_MIN = 24  # cells of the sources label kept however narrow the terminal


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """
    _shown: tuple | None = None

    def show(
        self,
        sources: str,
        counts: dict[str, int],
        *,
        listed: int,
        quick_filter: str,
        text_filter: str,
        loading: str | None,
        route_filter: str | None = None,
        marked: str | None = None,
        paused: int | None = None,
        warning: str | None = None,
        waiting: bool = False,
    ) -> None:
        """Show the line, unless it says what it already shows: the app asks ten times a second, and repainting an
        unchanged line kept an idle app busy (the status line is one line high: never a re-layout)."""
        width = self.size.width
        state = (sources, tuple(counts.items()), listed, quick_filter, text_filter, loading, route_filter, marked, paused, warning, waiting, width)
        if state == self._shown:
            return
        self._shown = state
        head = Text()
        if warning:  # first: it must not be the part the ellipsis cuts
            head.append(f"⚠ {warning}  ", style="bold red")
        if waiting and not counts["spans"]:
            head.append("waiting for spans on ", style="bold cyan")
        tail_of = partial(
            _tail, counts=counts, listed=listed, quick_filter=quick_filter, text_filter=text_filter, loading=loading,
            route_filter=route_filter, marked=marked, paused=paused, waiting=waiting,
        )
        room = width - head.cell_len - min(SOURCES_MIN, cell_len(sources))
        # Narrow terminal: first "0 read errors" and the `!` hint go, then the counts shorten (1.0M), then the listed
        # share and the span count go; what is still too long is cut at the end, so the loading percentage is first.
        for spare, short, lean in ((True, False, False), (False, False, False), (False, True, False), (False, True, True)):
            tail = tail_of(spare=spare, short=short, lean=lean)
            if tail.cell_len <= room:
                break
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append_text(head)
        line.append(fit(safe(sources, True), width - head.cell_len - tail.cell_len), style="bold")
        line.append_text(tail)
        self.update(line, layout=False)


def _tail(
    *,
    counts: dict[str, int],
    listed: int,
    quick_filter: str,
    text_filter: str,
    loading: str | None,
    route_filter: str | None,
    marked: str | None,
    paused: int | None,
    waiting: bool,
    spare: bool,
    short: bool,
    lean: bool,
) -> Text:
    """Everything after the sources label. `spare`: with the parts that go first; `short`: counts as 1.0M; `lean`:
    without the listed share and the span count."""
    number = format_count if short else (lambda n: f"{n:,}")
    tail = Text()
    if loading:
        tail.append(f"  {safe(loading, True)}", style="bold magenta")
    if not waiting or counts["spans"]:
        traces = counts["traces"]
        listed_part = "" if listed == traces or lean else f"{number(listed)}/"
        tail.append(f"  {listed_part}{number(traces)} {noun(traces, 'trace')}")
        if not lean:
            tail.append(f" · {number(counts['spans'])} {noun(counts['spans'], 'span')}")
        findings = counts["findings"]
        tail.append(f" · {number(findings)} {noun(findings, 'finding')}", style="yellow" if findings else "")
    if counts["errors"]:
        errors = counts["errors"]
        tail.append(f" · {number(errors)} {noun(errors, 'read error')}{' (! lists)' if spare else ''}", style="bold red")
    elif spare and (not waiting or counts["spans"]):
        tail.append(" · 0 read errors")
    if counts.get("evicted"):
        tail.append(f" · {number(counts['evicted'])} evicted", style="yellow")
    if quick_filter != "all":
        tail.append(f"  [filter: {quick_filter}]", style="bold cyan")
    if text_filter:
        tail.append(f"  [/{safe(text_filter, True)}]", style="bold cyan")
    if route_filter:
        tail.append(f"  [route: {safe(route_filter, True)}]", style="bold cyan")
    if marked:
        tail.append(f"  ⚑ {safe(marked, True)}", style="bold magenta")
    if paused is not None:
        tail.append(f"  ⏸ paused, {plural(paused, 'span')} queued (p resumes)", style="bold yellow")
    return tail


def fit(label: str, room: int) -> str:
    """The sources label cut (`…`) to `room` cells, so the counts and read errors after it still show on a narrow
    terminal; a trailing ` +2 more` is kept, and SOURCES_MIN cells at least (the `!` screen has it whole)."""
    if cell_len(label) <= room:
        return label
    more = re.search(r" \+[\d,]+ more$", label)
    suffix = more.group(0) if more else ""
    head = label[: len(label) - len(suffix)]
    keep = max(SOURCES_MIN, room) - len(suffix) - 1
    if keep >= cell_len(head):
        return label
    return set_cell_size(head, max(1, keep)) + "…" + suffix


def plural(count: int, word: str) -> str:
    return f"{count:,} {noun(count, word)}"


def noun(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"
