"""Rich renderables for traces, steps and findings: the TUI's look, as pure functions of the analysis.

Trace text is data. Everything from a trace goes through `safe()` (control bytes escaped) into `rich.text.Text`
objects built with `append`/`assemble`, never through markup parsing, so `[bold]` in a span name shows literally
and an ESC byte cannot reach the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rich.text import Text

from orchtui.analysis import TraceAnalysis
from orchtui.analysis.findings import SEVERITY_RANK, Finding
from orchtui.analysis.trace import FLAG_ERROR, FLAG_FALLBACK, FLAG_LOOP, FLAG_RETRY, FLAG_STOP
from orchtui.formatting import KIND_ICONS, cost_decimals, format_cost, format_count, format_duration
from orchtui.textsafe import printable
from parsers.span import ERROR, OK, Span

FLAG_BADGES = ((FLAG_ERROR, "ERR", "bold red"), (FLAG_LOOP, "LOOP", "bold red"), (FLAG_STOP, "STOP", "bold yellow"), (FLAG_RETRY, "RETRY", "yellow"), (FLAG_FALLBACK, "FALLBACK", "yellow"))
SEVERITY_STYLES = {"critical": "bold red", "warn": "yellow", "info": "dim"}
STOP_STYLES = {"stop": "green", "tool_calls": "cyan", "missing": "bold red reverse", "other": "yellow"}
ABNORMAL_STOPS = {"length", "content_filter", "error", "pause"}
NAME_ROOM = 28  # step tree: cells kept for the icon, a model name and a badge before optional columns
NAME_KEEP = 20  # step tree: cells of a name kept before its badges
BAR_MIN, BAR_MAX = 8, 20  # waterfall bar width
MAX_INLINE = 20_000  # characters of one value rendered before "press a to show all"


def safe(value: Any, single_line: bool = False, limit: int | None = None) -> str:
    return printable("" if value is None else value, single_line=single_line, limit=limit)


def status_glyph(analysis: TraceAnalysis) -> Text:
    if analysis.in_progress:
        return Text("◌", style="bold cyan")
    if analysis.status == ERROR:
        return Text("✗", style="bold red")
    if analysis.severity == "critical":
        return Text("!", style="bold yellow")
    return Text("✓", style="green") if analysis.status == OK else Text("·", style="dim")


def route_summary(route: list[str], limit: int = 6) -> str:
    """`a → b ×4 → c`: consecutive repeats collapsed with a count, long routes elided."""
    parts: list[str] = []
    previous, count = None, 0
    for step in route + [None]:  # type: ignore[list-item]
        if step == previous:
            count += 1
            continue
        if previous is not None:
            parts.append(previous if count == 1 else f"{previous} ×{count}")
        previous, count = step, 1
    if len(parts) > limit:
        parts = parts[: limit - 1] + [f"… +{len(parts) - limit + 1}"]
    return " → ".join(parts)


def start_time(ns: int | None) -> str:
    """A list's start time, in local time: `14:02:11` today, `11-24 14:02` on another day (the zone is in the
    column header, `zone_name()`), so the list and the detail read one clock."""
    if ns is None:
        return "--:--:--"
    moment = datetime.fromtimestamp(ns / 1e9).astimezone()
    if moment.date() == date.today():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%m-%d %H:%M")


AGE_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60))


def relative_age(ns: int | None, now_ns: int) -> str:
    """How long before `now_ns` a trace started, in its largest whole unit: `12s ago`, `3m ago`, `2h ago`, `4d ago`
    (the list's `t` mode). Rounded down, so a row's text changes at most once a second, and past a minute at most
    once a minute: the once-a-second repaint touches only the rows whose text changed. A start after `now_ns`
    (clocks of other machines) reads `0s ago`."""
    if ns is None:
        return "--"
    seconds = max(0, (now_ns - ns) // 1_000_000_000)
    for unit, size in AGE_UNITS:
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def timestamp(ns: int | None) -> str:
    """A full local time with its date and zone, `2025-11-24 16:00:00.000 UTC`: the detail's clock, the same
    zone as the list's."""
    if ns is None:
        return "unknown"
    moment = datetime.fromtimestamp(ns / 1e9).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} " + (moment.tzname() or "")


def zone_name() -> str:
    """The local zone's abbreviation (`UTC`, `CET`), shown beside times so nobody has to guess."""
    return datetime.now().astimezone().tzname() or "local"


def flag_badges(analysis: TraceAnalysis) -> Text:
    text = Text()
    flags = analysis.flags
    for flag, label, style in FLAG_BADGES:
        if flag in flags:
            text.append(label, style=style)
            text.append(" ")
    return text


# The list's number columns, right of the name and route, in order; each as wide as its widest visible value.
NUMBER_COLUMNS = ("duration", "spans", "tokens", "cost")
DROPPABLE = ("spans", "tokens")  # given up, least telling first, when the name would be cut
START_WIDTH = 12  # "11-24 14:02" (another day) or "14:02:11" (today); header "start CEST▼"
AGE_WIDTH = 8  # "999d ago"; header "age▼"
SERVICE_WIDTH = 14
NAME_MIN = 12
ROUTE_MIN = 12


@dataclass(frozen=True)
class ListLayout:
    """Column widths of the trace list for one screenful: every visible row and the header share it, so the
    columns line up. 0 hides a column."""

    width: int
    name: int
    start: int
    service: int
    route: int
    numbers: tuple[tuple[str, int], ...]  # (column, width) of the number columns shown
    flags: int
    cost_places: int = 4  # one precision for the column's costs: they line up, a larger one is never shorter


def list_layout(width: int, visible: Sequence[TraceAnalysis], services: bool = False, ages: bool = False) -> ListLayout:
    """Fit the columns to `width` and to what the visible rows hold, O(visible rows).

    The name is the identifying column: it gets its widest visible value before optional columns (start,
    service, route) take room, the spans and tokens columns give way before it is cut, and it gets any slack too
    small for another column, so a name is cut only when the screen is truly full. Route, number and flag
    columns are as wide as their widest visible value (what is left on a wide screen is blank at the right).
    With `ages` (the user pressed `t` to see them) the start column holds ages, narrower than clock times, and
    is kept like a number column: spans and tokens give way to it too, so it shows at 80 columns.
    """
    need = max((len(safe(a.name, True)) for a in visible), default=NAME_MIN)
    places = cost_decimals([a.cost_usd for a in visible if a.cost_usd])
    values = [number_cells(a, places) for a in visible]
    # Headers take one cell more for the sort arrow.
    widths = {column: max([len(column) + 1, *(len(cells[column]) for cells in values)]) for column in NUMBER_COLUMNS}
    flags = max([6, *(flag_badges(a).cell_len for a in visible)]) + 1  # "flags▼" header, one space after
    # The fewest, least telling number columns given up so that the name fits: none, spans, tokens, both.
    kept = AGE_WIDTH + 1 if ages else 0
    for dropped in ((), DROPPABLE[:1], DROPPABLE[1:], DROPPABLE):
        numbers = [n for n in NUMBER_COLUMNS if n not in dropped]
        if width - 2 - flags - kept - sum(widths[n] + 1 for n in numbers) >= need:
            break
    free = width - 2 - flags - kept - sum(widths[n] + 1 for n in numbers)
    name = max(min(need, free), min(NAME_MIN, max(0, free)))
    rest = free - name
    start = kept  # set aside above
    if not ages:
        start = START_WIDTH + 1 if rest >= START_WIDTH + 1 else 0
        rest -= start
    service = SERVICE_WIDTH + 1 if services and rest >= SERVICE_WIDTH + 1 else 0
    rest -= service
    route = 0
    if rest >= ROUTE_MIN:  # as wide as the widest visible route: numbers stay near the names on wide screens
        widest = max((len(safe(route_summary(a.route), True)) for a in visible), default=0)
        route = min(rest, max(ROUTE_MIN, widest + 1) + 1)
    elif rest > 0:
        name += rest  # slack no column can use goes to the name
    return ListLayout(width, name, start, service, route, tuple((n, widths[n]) for n in numbers), flags, places)


def number_cells(analysis: TraceAnalysis, cost_places: int | None = None) -> dict[str, str]:
    """The number columns of a trace's row, as text (`cost_places`: the column's precision)."""
    tokens = analysis.tokens
    return {
        "duration": format_duration(analysis.duration_ms) if not analysis.in_progress else "running",
        "spans": str(analysis.span_count),
        "tokens": f"{format_count(tokens.prompt)}/{format_count(tokens.completion)}" if tokens.total is not None else "–",
        "cost": format_cost(analysis.cost_usd, analysis.cost_complete, cost_places),
    }


NUMBER_STYLES = {"spans": "dim"}


def trace_header(
    layout: ListLayout, sort_key: str = "start", descending: bool = True, zone: str = "", modes: str = "", ages: bool = False
) -> Text:
    """The column header line of the trace list; the sorted column carries ▼ (largest or newest first) or ▲.
    `modes` (FOLLOW, a service filter) shows in reverse video over the name column's spare room, else at the
    right end. With `ages` the start column shows how long ago each trace started: its title is `age`."""
    arrow = "▼" if descending else "▲"

    def title(label: str, key: str | None = None) -> str:
        return f"{label}{arrow}" if key == sort_key else label

    header = Text(no_wrap=True, overflow="crop")
    header.append("  ")
    name_title = "name"
    tag = f" {modes} " if modes else ""
    if tag and layout.name >= len(name_title) + len(tag) + 2:
        header.append(name_title.ljust(layout.name - len(tag) - 1))
        header.append(tag, style="reverse")
        header.append(" ")
        tag = ""
    else:
        header.append(_fit(name_title, layout.name))
    if layout.start:
        header.append(" " + _fit(title("age" if ages else f"start {zone}".strip(), "start"), layout.start - 1))
    if layout.service:
        header.append(" " + _fit("service", layout.service - 1))
    if layout.route:
        header.append(" " + _fit("route", layout.route - 1))
    for name, width in layout.numbers:
        header.append(" " + title(name, name).rjust(width))
    header.append(" " + title("flags", "flags"))
    if tag:
        header.truncate(max(0, layout.width - len(tag)), pad=True)
        header.append(tag, style="reverse")
    header.truncate(layout.width, pad=True)
    return header


def trace_row(analysis: TraceAnalysis, layout: ListLayout, marked: bool = False) -> Text:
    """One trace list row, exactly `layout.width` cells, in the columns `list_layout` chose."""
    cells = number_cells(analysis, layout.cost_places)
    row = Text(no_wrap=True, overflow="crop")
    row.append_text(status_glyph(analysis))
    row.append("⚑" if marked else " ", style="bold magenta")
    row.append(_fit(safe(analysis.name, True), layout.name), style="bold")
    if layout.start:
        row.append(" " + _fit(start_time(analysis.start_ns), layout.start - 1), style="dim")
    if layout.service:
        row.append(" " + _fit(safe(analysis.service or "–", True), layout.service - 1), style="cyan")
    if layout.route:
        row.append(" " + _fit(safe(route_summary(analysis.route), True), layout.route - 1), style="italic")
    for name, width in layout.numbers:
        row.append(" " + cells[name].rjust(width), style=NUMBER_STYLES.get(name, ""))
    row.append(" ")
    row.append_text(flag_badges(analysis))
    row.truncate(layout.width, pad=True)
    return row


def start_column(layout: ListLayout) -> tuple[int, int]:
    """(first cell, width) of the start column's text in a `trace_row` (after the status glyph, the mark, the name
    and a space): where the list writes a trace's age over its clock time."""
    return 2 + layout.name + 1, max(0, layout.start - 1)


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return ""
    return text.ljust(width) if len(text) <= width else text[: max(0, width - 1)] + "…"


def waterfall(span: Span, analysis: TraceAnalysis, width: int = 16) -> Text:
    """A bar placing the span inside the trace's time range: offset and length to scale."""
    start, end = analysis.start_ns, analysis.end_ns
    if start is None or end is None or span.start_ns is None or end <= start:
        return Text(" " * width)
    scale = width / (end - start)
    offset = min(width - 1, max(0, int((span.start_ns - start) * scale)))
    span_end = span.end_ns if span.end_ns is not None else end
    length = max(1, min(width - offset, round((span_end - span.start_ns) * scale)))
    style = "red" if span.status == ERROR else ("cyan" if span.end_ns is None else "magenta" if span.kind == "llm" else "blue")
    bar = Text("·" * offset, style="dim")
    bar.append("█" * length, style=style)
    bar.append("·" * (width - offset - length), style="dim")
    return bar


def step_name(span: Span) -> str:
    """What a step is called: a tool by its tool name, an LLM call by its model, anything else by its span name."""
    if span.kind == "tool" and span.tool_name:
        return span.tool_name
    if span.kind == "llm" and span.model:
        return span.model
    return span.name


def brief_step_label(span: Span) -> Text:
    """Icon and name only: a node's label until the tree first draws it (then `step_label`, fitted to the width)."""
    icon, icon_style = KIND_ICONS.get(span.kind, KIND_ICONS["other"])
    return Text.assemble((icon + " ", icon_style), safe(step_name(span), True))


def step_label(span: Span, analysis: TraceAnalysis, depth: int, width: int = 100, expandable: bool = False) -> Text:
    """A step tree label fitted to `width` cells, columns right-aligned so every depth lines up.

    Icon, name and badges (stop reason, retry attempt, error, loop) always show; then, as room allows, the
    duration, the waterfall bar, tokens in→out and cost. LLM calls are named by their model when known.
    """
    icon, icon_style = KIND_ICONS.get(span.kind, KIND_ICONS["other"])
    findings = analysis.findings_by_span.get(span.span_id, [])
    worst = max((SEVERITY_RANK[f.severity] for f in findings if f.severity != "info"), default=-1)
    name_style = "bold red" if span.status == ERROR or worst == 2 else "bold yellow" if worst == 1 else ""
    name = step_name(span)
    badges = Text(no_wrap=True)
    for badge, style in _badges(span, analysis, findings):
        badges.append(" ")
        badges.append(badge, style=style)

    duration = format_duration(span.duration_ns / 1e6) if span.duration_ns is not None else "running"
    tokens = f"{format_count(span.tokens.prompt)}→{format_count(span.tokens.completion)}" if span.tokens is not None and span.tokens.total is not None else ""
    cost = analysis.span_costs.get(span.span_id)
    tokens_column = Text(f" {tokens:>12}")
    cost_column = Text(f" {format_cost(cost) if cost is not None else '':>9}", style="green")
    # Which columns show, and the bar's width, depend on the tree's width only (never on the row), so every
    # row's columns end at the same right edge and line up whatever the depth or the badges. By priority: the
    # duration, the waterfall (at least BAR_MIN cells; it is what places a step in time), tokens, cost; each only
    # while NAME_ROOM cells stay for the icon, a model name like `gpt-4o-mini` and a badge.
    room = width - 2 - NAME_ROOM
    columns = [Text(f" {duration:>8}", style="dim")]
    used = columns[0].cell_len
    show_bar = used + BAR_MIN + 1 <= room
    if show_bar:
        used += BAR_MIN + 1
    for column in (tokens_column, cost_column):
        if used + column.cell_len > room:
            break
        columns.append(column)
        used += column.cell_len
    bar = waterfall(span, analysis, min(BAR_MAX, BAR_MIN + room - used)) if show_bar else None
    if used > room:  # too narrow even for the duration: the name takes the row
        columns = []
    available = width - depth * 3 - (2 if expandable else 0) - 2  # tree guides, expand arrow, a margin
    name_width = max(8, available - sum(c.cell_len for c in columns) - (bar.cell_len + 1 if bar is not None else 0))

    label = Text(no_wrap=True)
    label.append(icon + " ", style=icon_style)
    # A short name (a model, a tool) before its badges: a badge is cut (its … shows) before such a name is; a
    # long name gives way to its badges beyond NAME_KEEP cells.
    shown = safe(name, True)
    keep = max(6, min(len(shown), NAME_KEEP, name_width - 2), name_width - 2 - badges.cell_len)
    label.append(_fit(shown, keep).rstrip(), style=name_style)
    label.append_text(badges)
    label.truncate(max(8, name_width), overflow="ellipsis", pad=True)
    for column in columns:
        label.append_text(column)
    if bar is not None:
        label.append(" ")
        label.append_text(bar)
    return label


def _badges(span: Span, analysis: TraceAnalysis, findings: list[Finding]) -> list[tuple[str, str]]:
    badges = []
    # The step number on the graph node (or turn) itself, not on every span that inherited its metadata.
    if span.graph_step is not None and span.kind in ("chain", "agent") and span.graph_node in (None, span.name):
        badges.append((f"#{safe(span.graph_step, True, 12)}", "dim"))
    if span.stop_reason == "missing" and (not span.records_finish_reason or span.status == ERROR):
        # the producer never exports finish reasons, or the call failed (its ✗ says so): not a missing reason
        badges.append(("[n/a]", "dim"))
    elif span.stop_reason is not None:
        reason = span.stop_reason
        badges.append((f"[{safe(reason, True, 24)}]", "bold red" if reason in ABNORMAL_STOPS else STOP_STYLES.get(reason, "yellow")))
    attempt = analysis.retry_attempts.get(span.span_id)
    if attempt:
        badges.append((f"↻{attempt}", "bold yellow"))
    if span.status == ERROR:
        badges.append(("✗", "bold red"))
    if any(f.severity != "info" and f.code.startswith("loop.") for f in findings):
        badges.append(("⟳", "bold red"))
    return badges


def placeholder_label(count: int) -> Text:
    return Text.assemble(("⚠ ", "bold yellow"), (f"missing parent ({count} span{'s' if count != 1 else ''} whose parent never arrived)", "yellow"))


def finding_line(finding: Finding) -> Text:
    line = Text()
    line.append(f"{finding.severity:<8} ", style=SEVERITY_STYLES[finding.severity])
    line.append(f"{finding.code} ", style="cyan")
    line.append(safe(finding.message))
    return line


def clip(text: str, show_all: bool) -> tuple[str, int]:
    """Trace values can be megabytes: render a bounded prefix unless asked; returns (text, characters hidden)."""
    if show_all or len(text) <= MAX_INLINE:
        return text, 0
    return text[:MAX_INLINE], len(text) - MAX_INLINE
