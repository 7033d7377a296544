"""Rich renderables for traces, steps and findings: the TUI's look, as pure functions of the analysis.

Trace text is data. Everything from a trace goes through `safe()` (control bytes escaped) into `rich.text.Text`
objects built with `append`/`assemble`, never through markup parsing, so `[bold]` in a span name shows literally
and an ESC byte cannot reach the terminal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from orchtui.analysis import TraceAnalysis
from orchtui.analysis.findings import SEVERITY_RANK, Finding
from orchtui.analysis.trace import FLAG_ERROR, FLAG_FALLBACK, FLAG_LOOP, FLAG_RETRY, FLAG_STOP
from orchtui.formatting import KIND_ICONS, format_cost, format_count, format_duration
from orchtui.textsafe import printable
from parsers.span import ERROR, OK, Span

FLAG_BADGES = ((FLAG_ERROR, "ERR", "bold red"), (FLAG_LOOP, "LOOP", "bold red"), (FLAG_STOP, "STOP", "bold yellow"), (FLAG_RETRY, "RETRY", "yellow"), (FLAG_FALLBACK, "FALLBACK", "yellow"))
SEVERITY_STYLES = {"critical": "bold red", "warn": "yellow", "info": "dim"}
STOP_STYLES = {"stop": "green", "tool_calls": "cyan", "missing": "bold red reverse", "other": "yellow"}
ABNORMAL_STOPS = {"length", "content_filter", "error", "pause"}
FLAGS_WIDTH = 19  # "ERR LOOP STOP RETRY"
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
    if ns is None:
        return "--:--:--"
    return datetime.fromtimestamp(ns / 1e9).strftime("%H:%M:%S")


def flag_badges(analysis: TraceAnalysis) -> Text:
    text = Text()
    flags = analysis.flags
    for flag, label, style in FLAG_BADGES:
        if flag in flags:
            text.append(label, style=style)
            text.append(" ")
    return text


def trace_row(analysis: TraceAnalysis, width: int, marked: bool = False) -> Text:
    """One trace list row, exactly `width` cells: the start time, then the route, drop out as the terminal narrows."""
    duration = format_duration(analysis.duration_ms) if not analysis.in_progress else "running"
    tokens = (
        f"{format_count(analysis.tokens.prompt)}/{format_count(analysis.tokens.completion)}"
        if analysis.tokens.total is not None
        else "–"
    )
    right = [
        (f" {duration:>8}", ""),
        (f" {analysis.span_count:>5}", "dim"),
        (f" {tokens:>12}", ""),
        (f" {format_cost(analysis.cost_usd, analysis.cost_complete):>10} ", ""),
    ]
    right_width = sum(len(text) for text, _ in right) + FLAGS_WIDTH
    show_start = width >= 100
    name_width = max(12, min(24, width // 5))
    start_width = 10 if show_start else 0
    route_width = width - 2 - name_width - start_width - right_width
    if route_width < 12:  # no room for a useful route: give it to the name
        name_width = max(8, name_width + max(0, route_width))
        route_width = 0

    row = Text(no_wrap=True, overflow="crop")
    row.append_text(status_glyph(analysis))
    row.append("⚑" if marked else " ", style="bold magenta")
    row.append(_fit(safe(analysis.name, True), name_width), style="bold")
    if show_start:
        row.append(f" {start_time(analysis.start_ns)} ", style="dim")
    if route_width:
        row.append(" " + _fit(safe(route_summary(analysis.route), True), route_width - 1), style="italic")
    for text, style in right:
        row.append(text, style=style)
    flags = flag_badges(analysis)
    flags.truncate(FLAGS_WIDTH, pad=True)
    row.append_text(flags)
    row.truncate(width, pad=True)
    return row


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
    duration, tokens in→out, cost and the waterfall bar. LLM calls are named by their model when known.
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
    columns = [
        Text(f" {duration:>8}", style="dim"),
        Text(f" {tokens:>12}"),
        Text(f" {format_cost(cost) if cost is not None else '':>9}", style="green"),
    ]
    # Which columns show, and the bar's width, depend on the tree's width only (never on the row), so every
    # row's columns end at the same right edge and line up whatever the depth or the badges.
    room = width - 2 - 24  # two levels of guides and a readable name
    while columns and sum(c.cell_len for c in columns) > room:
        columns.pop()
    spare = room - sum(c.cell_len for c in columns)
    bar = waterfall(span, analysis, min(20, spare - 1)) if len(columns) == 3 and spare >= 9 else None
    available = width - depth * 3 - (2 if expandable else 0) - 2  # tree guides, expand arrow, a margin
    name_width = max(8, available - sum(c.cell_len for c in columns) - (bar.cell_len + 1 if bar is not None else 0))

    label = Text(no_wrap=True)
    label.append(icon + " ", style=icon_style)
    label.append(_fit(safe(name, True), max(6, name_width - 2 - badges.cell_len)).rstrip(), style=name_style)
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
