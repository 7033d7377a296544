"""The `check` report: the stable JSON document (architecture.md) and the human-readable tables.

Rich is imported only to draw tables, so `check --json` in CI never loads it. Every piece of trace text goes
through `printable` and into `rich.text.Text` (never a markup string): trace text is data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import IO, Any

from parsers.span import ReadError

from .analysis import TraceAnalysis
from .analysis.findings import SEVERITY_RANK
from .cli_tables import (
    LIST_EVERY_TRACE_UP_TO,
    Column,
    count_traces,
    fit_table,
    make_console,
    narrow_note,
)
from .formatting import cost_decimals, format_cost, format_duration, format_tokens
from .textsafe import printable

JSON_VERSION = 1

FLAG_LABELS = {"error": "ERR", "loop": "LOOP", "stop_reason": "STOP", "retry": "RETRY", "fallback": "FALLBACK"}
SEVERITY_STYLES = {"critical": "bold red", "warn": "yellow", "info": "dim"}


def sort_traces(analyses: list[TraceAnalysis]) -> list[TraceAnalysis]:
    return sorted(analyses, key=lambda a: (a.start_ns if a.start_ns is not None else 0, a.trace_id))


def check_document(
    analyses: list[TraceAnalysis], errors: list[ReadError], collect: Callable[[Iterator[dict[str, Any]]], object] = list
) -> dict[str, Any]:
    """The `check --json` document. `collect` makes the traces' value from their generator: a list, or
    `textsafe.Streamed` for the CLI, which writes them a batch at a time."""
    return {
        "version": JSON_VERSION,
        "traces": collect(analysis.to_json() for analysis in sort_traces(analyses)),
        "errors": [{"source": error.source, "message": error.message} for error in errors],
    }


def findings_summary(analyses: list[TraceAnalysis]) -> Any:
    """Each finding code with its severity and how many traces have it, worst and commonest first: the whole run
    when the tables list only the traces with findings."""
    from rich.table import Table
    from rich.text import Text

    traces: dict[tuple[str, str], int] = defaultdict(int)
    for analysis in analyses:
        for key in {(finding.severity, finding.code) for finding in analysis.findings}:
            traces[key] += 1
    with_findings = sum(1 for analysis in analyses if analysis.findings)
    table = Table(title=f"findings in {with_findings:,} of {count_traces(len(analyses))}", title_justify="left")
    table.add_column("severity", no_wrap=True)
    table.add_column("finding", overflow="fold")
    table.add_column("traces", justify="right", no_wrap=True)
    for (severity, code), count in sorted(traces.items(), key=lambda item: (-SEVERITY_RANK[item[0][0]], -item[1], item[0][1])):
        table.add_row(Text(severity, style=SEVERITY_STYLES[severity]), Text(printable(code, True), style="cyan"), f"{count:,}")
    return table


def exceeds(analyses: list[TraceAnalysis], fail_on: str) -> bool:
    """Is there a finding at or above `fail_on`?"""
    rank = SEVERITY_RANK[fail_on]
    return any(SEVERITY_RANK[f.severity] >= rank for a in analyses for f in a.findings)


def source_of(analysis: TraceAnalysis) -> str:
    """The file a trace was read from (its root's, else its first span's)."""
    root = analysis.tree.root
    spans = [root] if root is not None else analysis.tree.ordered[:1]
    source = spans[0].source if spans and spans[0] is not None else None
    return source.name if source is not None else "(unknown source)"


# The check table's columns: the trace and its flags are never dropped; at 80 columns stop and spans go first.
CHECK_COLUMNS = (
    Column("trace", wrap=True, wrap_width=28),
    Column("spans", "right", keep=2),
    Column("duration", "right", keep=4),
    Column("tokens in/out", "right", keep=3),
    Column("cost", "right", keep=5),
    Column("stop", keep=1),
    Column("flags", wrap=True, wrap_width=9),
)


def print_tables(
    analyses: list[TraceAnalysis], errors: list[ReadError], skipped: dict[str, int], out: IO[str], list_all: bool = False
) -> None:
    from rich.table import Table
    from rich.text import Text

    console = make_console(out, piped_width=120)  # piped (CI logs): wide enough for a row per trace
    by_file: dict[str, list[TraceAnalysis]] = defaultdict(list)
    for analysis in sort_traces(analyses):
        by_file[source_of(analysis)].append(analysis)

    abbreviated = False
    for source, every in by_file.items():
        traces = every if list_all or len(every) <= LIST_EVERY_TRACE_UP_TO else [a for a in every if a.findings]
        title = Text(printable(source, single_line=True), style="bold")
        unlisted = len(every) - len(traces)
        abbreviated |= unlisted > 0
        if not traces:
            console.print(title)
            console.print(Text(f"{count_traces(unlisted)}, none with findings (--all lists them)", style="dim"))
            console.print()
            continue
        decimals = cost_decimals(analysis.cost_usd for analysis in traces if analysis.cost_usd is not None)
        rows = []
        for analysis in traces:
            flags = Text()
            for flag in FLAG_LABELS:
                if flag in analysis.flags:
                    flags.append(("" if not flags else " ") + FLAG_LABELS[flag], style="bold red" if flag in ("error", "loop") else "yellow")
            name = Text(("● " if analysis.in_progress else "") + printable(analysis.name, single_line=True))
            rows.append([
                name,
                str(analysis.span_count),
                format_duration(analysis.duration_ms),
                format_tokens(analysis.tokens.prompt, analysis.tokens.completion),
                format_cost(analysis.cost_usd, analysis.cost_complete, decimals),
                Text(printable(analysis.stop_reason or "–", True)),
                flags,
            ])
        table, dropped = fit_table(console, list(CHECK_COLUMNS), rows, title=title, title_justify="left", expand=False)
        console.print(table)
        if unlisted:
            console.print(Text(f"and {count_traces(unlisted, 'more ')} without findings (--all lists them)", style="dim"))
        if dropped:
            console.print(narrow_note(console, dropped))
        for analysis in traces:
            shown = sorted(analysis.findings, key=lambda f: -SEVERITY_RANK[f.severity])
            if not shown:
                continue
            console.print(Text(f"  {printable(analysis.name, single_line=True)} ({printable(analysis.trace_id[:16], True)})", style="bold"))
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=3)
            grid.add_column(no_wrap=True)
            grid.add_column(no_wrap=True)
            grid.add_column(overflow="fold")
            for finding in shown:
                grid.add_row(
                    "",
                    Text(finding.severity, style=SEVERITY_STYLES[finding.severity]),
                    Text(printable(finding.code, True), style="cyan"),
                    Text(printable(finding.message, single_line=True)),
                )
            console.print(grid)
        console.print()

    if abbreviated:  # what the rows no longer show, at a glance
        console.print(findings_summary(analyses))
    if skipped:
        console.print(Text("Skipped (not traces): " + ", ".join(f"{n} {what}" for what, n in skipped.items()), style="dim"))
    if errors:
        console.print(Text(f"{len(errors)} record(s) could not be read:", style="bold yellow"))
        for error in errors[:50]:
            console.print(Text(f"  {printable(error.source, True)}: {printable(error.message, True)}"))
        if len(errors) > 50:
            console.print(Text(f"  … and {len(errors) - 50} more (use --json for all)", style="dim"))
