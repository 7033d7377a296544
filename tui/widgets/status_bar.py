"""The status line: what is loaded, how much, what is wrong with the input, and which filter is on.

Read errors point at `!` (the sources screen lists them); a live source with nothing yet says it is waiting on
it, so an empty list reads as "nothing arrived", not as "nothing matched"."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..render import safe


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
        state = (sources, tuple(counts.items()), listed, quick_filter, text_filter, loading, route_filter, marked, paused, warning, waiting)
        if state == self._shown:
            return
        self._shown = state
        line = Text(no_wrap=True, overflow="ellipsis")
        if warning:  # first: it must not be the part the ellipsis cuts
            line.append(f"⚠ {warning}  ", style="bold red")
        traces = counts["traces"]
        if waiting and not counts["spans"]:
            line.append("waiting for spans on ", style="bold cyan")
            line.append(safe(sources, True), style="bold")
        else:
            line.append(safe(sources, True), style="bold")
            line.append("  ")
            line.append(plural(traces, "trace") if listed == traces else f"{listed:,}/{plural(traces, 'trace')}")
            line.append(f" · {plural(counts['spans'], 'span')}")
            line.append(f" · {plural(counts['findings'], 'finding')}", style="yellow" if counts["findings"] else "")
        if counts["errors"]:
            line.append(f" · {plural(counts['errors'], 'read error')} (! lists)", style="bold red")
        elif not waiting or counts["spans"]:
            line.append(" · 0 read errors")
        if counts.get("evicted"):
            line.append(f" · {counts['evicted']:,} evicted", style="yellow")
        if quick_filter != "all":
            line.append(f"  [filter: {quick_filter}]", style="bold cyan")
        if text_filter:
            line.append(f"  [/{safe(text_filter, True)}]", style="bold cyan")
        if route_filter:
            line.append(f"  [route: {safe(route_filter, True)}]", style="bold cyan")
        if marked:
            line.append(f"  ⚑ {safe(marked, True)}", style="bold magenta")
        if loading:
            line.append(f"  {safe(loading, True)}", style="bold magenta")
        if paused is not None:
            line.append(f"  ⏸ paused, {plural(paused, 'span')} queued (p resumes)", style="bold yellow")
        self.update(line, layout=False)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
