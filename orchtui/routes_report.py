"""`orchtui routes` and `orchtui diff`: their JSON documents, their tables, and choosing what to compare.

The route cells are built here once, as (text, style) pairs, so the CLI table and the TUI's Routes screen show the
same numbers the same way. Rich is imported only to draw, so `--json` never loads it. Trace text goes through
`printable` and into `rich.text.Text`, never a markup string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from parsers.span import LLM, TOOL, ReadError

from .analysis import TraceAnalysis
from .analysis.compare import Comparison, StepDiff
from .analysis.routes import BY_PATH, RouteStats
from .analysis.steps import PathStep, Step, trace_steps
from .cli_tables import Column, fit_table, make_console, narrow_note
from .formatting import KIND_ICONS, cost_decimals, format_cost, format_cost_delta, format_count, format_duration_delta, format_latency, format_ratio, format_share
from .textsafe import printable

if TYPE_CHECKING:
    from .batch_gate import LimitResult
    from .route_evals import RouteStepFailures

JSON_VERSION = 1
# key, header, right-aligned? Short headers (a legend explains them) keep the numbers of a route on 120 columns.
ROUTE_COLUMNS = (
    ("family", "family", False),
    ("path", "route", False),
    ("traces", "traces", True),
    ("share", "share", True),
    ("ok", "ok", True),
    ("p50", "p50", True),
    ("p95", "p95", True),
    ("p99", "p99", True),
    ("tokens", "tok", True),
    ("cost", "$", True),
    ("cost_p95", "$ p95", True),
    ("retries", "retry", True),
    ("tool_errors", "err", True),
    ("timeouts", "t/o", True),
    ("loops", "loop", True),
    ("stops", "stop", True),
    ("models", "models", False),
)
NAME_COLUMNS = ("family", "path", "models")  # the CLI stacks these in one cell
LEGEND = (
    "share: of the family's traces · ok: traces without error · tok, $, retry: per trace (mean) · err, t/o: tool "
    "calls that failed, timed out · loop, stop: traces with a loop, a stop-reason problem · ◆ an LLM call"
)
EXPENSIVE_MARK = "$ "
EXPENSIVE_STYLE = "bold red"
OP_MARKS = {"same": ("=", "dim"), "changed": ("~", "bold yellow"), "skipped": ("-", "bold red"), "extra": ("+", "bold green"),
            "repeated": ("↻", "bold magenta"), "moved": ("↕", "bold cyan")}
Cell = tuple[str, str]  # text, Rich style


def compact_path(path: tuple[PathStep, ...] | None) -> str:
    """A route path short enough for a table cell. An LLM call is `◆`, naming its model only when it is not the
    path's first model (so a fallback to another model still tells two routes apart); other steps keep their
    kind's glyph (tools none); ` › ` joins two steps with no LLM call between them:
    `◆ lookup_order › ⌕retrieve_policy ◆gpt-4o issue_refund ◆gpt-4o`."""
    if not path:
        return "(no steps)"
    first_model = next((step.key.partition(":")[2] for step in path if step.key.startswith(LLM + ":")), None)
    text = ""
    after_llm = True
    for step in path:
        kind, _, name = step.key.partition(":")
        is_llm = kind == LLM
        if is_llm:
            token = KIND_ICONS[LLM][0] + ("" if name == first_model else name)
        else:
            token = ("" if kind == TOOL else KIND_ICONS.get(kind, KIND_ICONS["other"])[0]) + name
        if step.count > 1:
            token += f" x{step.count}"
        separator = " " if (is_llm or after_llm) else " › "
        text += (separator if text else "") + token
        after_llm = is_llm
    return text


def route_columns(by: str) -> list[tuple[str, str, bool]]:
    """The TUI's columns: key, header, right-aligned? (no route column by family)"""
    return [column for column in ROUTE_COLUMNS if by == BY_PATH or column[0] != "path"]


def route_cells(route: RouteStats, cost_places: dict[str, int] | None = None) -> dict[str, Cell]:
    """One row's cells by column key; an expensive branch is marked on its path, cost and p95. `cost_places`
    (from `route_cost_places`) gives each cost column one number of decimals."""
    places = cost_places or {}
    expensive = EXPENSIVE_STYLE if route.expensive else ""

    def warn_if(value: float | None, style: str = "yellow") -> str:
        return style if value else ""

    return {
        "family": (printable(route.family, True), "bold"),
        "path": ((EXPENSIVE_MARK if route.expensive else "") + printable(compact_path(route.path), True), expensive),
        "traces": (format_count(route.traces), ""),
        "share": (format_share(route.share), ""),
        "ok": (format_share(route.success_rate), "" if route.success_rate == 1.0 else "yellow"),
        "p50": (format_latency(route.latency_p50_ms), ""),
        "p95": (format_latency(route.latency_p95_ms), expensive),
        "p99": (format_latency(route.latency_p99_ms), ""),
        "tokens": (format_count(None if route.tokens_mean is None else round(route.tokens_mean)), ""),
        "cost": (format_cost(route.cost_mean_usd, decimals=places.get("cost")), expensive),
        "cost_p95": (format_cost(route.cost_p95_usd, decimals=places.get("cost_p95")), ""),
        "retries": (format_ratio(route.retries_per_trace), warn_if(route.retries_per_trace)),
        "tool_errors": (format_share(route.tool_error_rate), warn_if(route.tool_error_rate)),
        "timeouts": (format_share(route.timeout_rate), warn_if(route.timeout_rate)),
        "loops": (format_share(route.loop_rate), warn_if(route.loop_rate, "bold red")),
        "stops": (format_share(route.stop_problem_rate), warn_if(route.stop_problem_rate)),
        "models": (", ".join(printable(model, True) for model in route.models), "magenta"),
    }


def route_cost_places(stats: Sequence[RouteStats]) -> dict[str, int]:
    """Decimals per cost column over these routes, so each column lines up (see `cost_decimals`)."""
    return {
        "cost": cost_decimals(route.cost_mean_usd for route in stats if route.cost_mean_usd is not None),
        "cost_p95": cost_decimals(route.cost_p95_usd for route in stats if route.cost_p95_usd is not None),
    }


# Which numbers a narrow terminal keeps (higher first): whether a route works, loops or stops badly, then its
# latency and cost; percentiles and means beside them go first.
ROUTE_KEEP = {"ok": 14, "loops": 13, "stops": 12, "tool_errors": 11, "p95": 10, "cost": 9, "traces": 8, "timeouts": 7,
              "retries": 6, "share": 5, "tokens": 4, "p50": 3, "p99": 2, "cost_p95": 1}


# -- orchtui routes --------------------------------------------------------------------------------------------------


def routes_document(
    stats: list[RouteStats], by: str, errors: list[ReadError], limits: Sequence[LimitResult] = (), step_failures: dict[str, RouteStepFailures] | None = None
) -> dict[str, Any]:
    """The stable `orchtui routes --json` document (README: `orchtui routes`)."""
    rows = []
    for route in stats:
        row = route.to_json()
        if step_failures is not None:
            failures = step_failures.get(route.route_id)
            row["evaluations"] = None if failures is None else failures.to_json()
        rows.append(row)
    return {
        "version": JSON_VERSION,
        "by": by,
        "routes": rows,
        "route_limits": [limit.to_json() for limit in limits],
        "errors": [{"source": error.source, "message": error.message} for error in errors],
    }


def print_routes(
    stats: list[RouteStats], by: str, errors: list[ReadError], out: IO[str], limits: Sequence[LimitResult] = (), step_failures: dict[str, RouteStepFailures] | None = None
) -> None:
    from rich import box
    from rich.text import Text

    console = make_console(out, piped_width=140)  # piped (CI logs): a fixed width, so logs read the same everywhere
    numbers = [(key, header) for key, header, _ in ROUTE_COLUMNS if key not in NAME_COLUMNS]
    columns = [Column("route", wrap=True, wrap_width=28), *(Column(header, "right", keep=ROUTE_KEEP[key]) for key, header in numbers)]
    places = route_cost_places(stats)
    rows: list[list[Any]] = []
    for route in stats:
        cells = route_cells(route, places)
        head = Text()
        for key in NAME_COLUMNS if by == BY_PATH else ("family", "models"):
            text, style = cells[key]
            head.append(("\n" if head else "") + text, style=style)
        rows.append([head, *(Text(*cells[key]) for key, _ in numbers)])
    if stats:
        table, dropped = fit_table(console, columns, rows, title=f"orchtui routes (by {by})", title_justify="left",
                                   box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), show_lines=True)
        console.print(table)
        console.print(Text(LEGEND, style="dim"))
        if dropped:
            console.print(narrow_note(console, dropped))
    else:
        console.print(Text("No finished traces: a route is counted when its trace completes.", style="yellow"))
    expensive = [route for route in stats if route.expensive]
    if expensive:
        console.print(Text("Expensive branches (2x the rest of their family's median cost or p95 latency):", style="bold"))
        for route in expensive:
            for reason in route.expensive_reasons:
                line = Text("  " + EXPENSIVE_MARK, style=EXPENSIVE_STYLE)
                where = route.family if by != BY_PATH else f"{route.family} {compact_path(route.path)}"
                line.append(printable(where, True) + ": ", style="bold")
                line.append(printable(reason, True))
                console.print(line)
    if step_failures:
        _print_step_failures(console, stats, step_failures)
    if limits:
        from .eval_report import limits_table

        console.print(limits_table(limits))
    if errors:
        console.print(Text(f"{len(errors)} record(s) could not be read (see --json)", style="yellow"))


def _print_step_failures(console: Any, stats: list[RouteStats], step_failures: dict[str, RouteStepFailures]) -> None:
    """Per route whose evaluations failed: each step they failed on, how often, and which evaluators."""
    from rich.table import Table
    from rich.text import Text

    for route in stats:
        failures = step_failures.get(route.route_id)
        if failures is None:
            continue
        rates = [rate for rate in [*failures.steps, failures.trace_level] if rate.failed_traces]
        if not rates:
            continue
        title = Text(f"Where evaluations fail: {printable(route.family, True)}  {printable(compact_path(route.path), True)}", style="bold")
        table = Table(title=title, title_justify="left", show_edge=False)
        for header, right in (("step", False), ("failed", True), ("traces", True), ("evaluators", False)):
            table.add_column(header, justify="right" if right else "left", overflow="fold")
        for rate in sorted(rates, key=lambda r: -r.failed_traces):
            label = "(whole trace)" if rate.step is None else f"{rate.index + 1}. {printable(str(rate.step), True)}"
            evaluators = ", ".join(f"{name} {count}" for name, count in rate.evaluators.items())
            table.add_row(Text(label), Text(format_share(rate.rate), style="bold red" if rate.rate >= 0.5 else "yellow"),
                          f"{rate.failed_traces}/{rate.traces}", evaluators)
        console.print(table)


# -- orchtui diff ----------------------------------------------------------------------------------------------------


class TargetError(ValueError):
    """A diff operand that names no trace (or several), with what was looked for."""


@dataclass(frozen=True)
class Picked:
    analysis: TraceAnalysis
    note: str | None = None  # said on stderr when a name matched several traces


def pick_trace(selector: str, analyses: list[TraceAnalysis]) -> Picked:
    """A trace by id (or unique id prefix, any case) or by root span name (the earliest such trace, with a note)."""
    wanted = selector.lower().removeprefix("0x")
    exact = [a for a in analyses if a.trace_id.lower() == wanted]
    if exact:
        return Picked(exact[0])
    prefixed = [a for a in analyses if a.trace_id.lower().startswith(wanted)]
    if len(prefixed) == 1:
        return Picked(prefixed[0])
    if len(prefixed) > 1:
        raise TargetError(f"{selector!r} is the start of {len(prefixed)} trace ids: {_ids(prefixed)}")
    named = sorted((a for a in analyses if a.name == selector), key=lambda a: (a.start_ns or 0, a.trace_id))
    if not named:
        raise TargetError(f"no trace has the id or name {selector!r}")
    note = None
    if len(named) > 1:
        note = f"{selector!r} names {len(named)} traces; using the earliest ({printable(named[0].trace_id[:16], True)}); give an id to choose: {_ids(named)}"
    return Picked(named[0], note)


def _ids(analyses: list[TraceAnalysis]) -> str:
    shown = ", ".join(printable(a.trace_id[:16], True) for a in analyses[:6])
    return shown + (" …" if len(analyses) > 6 else "")


def diff_cells(row: StepDiff, cost_places: int | None = None, kinds: dict[str, str] | None = None) -> list[Cell]:
    """A comparison row: A's step, the op mark, B's step, the changes, and the three deltas. `cost_places` gives
    the cost deltas of a table one number of decimals; `kinds` (from `golden_kinds`) the kind of a golden route's
    steps, which the gate file does not record."""
    mark, style = OP_MARKS[row.op]
    dim = row.op == "same"
    return [
        step_cell(row.a, dim, _golden_kind(row, kinds)),
        (mark, style),
        step_cell(row.b, dim),
        (printable("; ".join(row.changes), True), "yellow" if row.changes else ""),
        _delta_cell(row.tokens_delta, lambda v: f"{v:+,}"),
        _delta_cell(row.cost_delta, lambda v: format_cost_delta(v, cost_places)),
        _delta_cell(row.duration_delta_ms, format_duration_delta),
    ]


def diff_table(comparison: Comparison, others: Sequence[TraceAnalysis] = ()) -> list[list[Cell]]:
    """Every row's cells, the cost deltas in one precision and a golden route's steps with their kinds."""
    places = cost_decimals(row.cost_delta for row in comparison.rows if row.cost_delta is not None)
    kinds = golden_kinds(comparison, others) if comparison.golden else None
    return [diff_cells(row, places, kinds) for row in comparison.rows]


def golden_kinds(comparison: Comparison, others: Sequence[TraceAnalysis] = ()) -> dict[str, str]:
    """Step name -> kind as the runs took it (B's steps win over `others`, traces of the same family): a golden
    route lists names only, so without this a retriever it expects would read as a tool."""
    kinds: dict[str, str] = {}
    for analysis in others:
        kinds.update((step.name, step.kind) for step in trace_steps(analysis, with_args=False))
    kinds.update((step.name, step.kind) for step in comparison.b.steps)
    return kinds


def _golden_kind(row: StepDiff, kinds: dict[str, str] | None) -> str | None:
    if kinds is None or row.a is None:
        return None
    return row.b.kind if row.b is not None else kinds.get(row.a.name)


def diff_heading(comparison: Comparison) -> tuple[str, str, str]:
    """`A: name (6 steps)`, `B: name (7 steps)` and the verdict line: each count beside its own run (the engine's
    summary leads with "7 steps vs 6", B's count first)."""
    a, b = comparison.a, comparison.b
    verdict = comparison.summary().removeprefix(f"{len(b.steps)} steps vs {len(a.steps)}: ")
    if a.trace_id is not None and a.trace_id == b.trace_id:
        verdict = "A and B are the same trace: " + verdict
    return (f"A: {printable(a.label, True)} ({_steps(len(a.steps))})", f"B: {printable(b.label, True)} ({_steps(len(b.steps))})",
            printable(verdict, True))


def _steps(count: int) -> str:
    return f"{count} step" + ("" if count == 1 else "s")


DIFF_KEEP = {4: 2, 5: 3, 6: 1}  # the delta columns a narrow terminal may leave out (the steps and changes stay)
DIFF_HEADERS = (("A step", False), ("", False), ("B step", False), ("changes", False), ("Δ tokens", True), ("Δ cost", True), ("Δ latency", True))


def step_cell(step: Step | None, dim: bool = False, kind: str | None = None) -> Cell:
    """`◆ gpt-4o`, `▣ lookup_order`, `⌕ retrieve_policy ✗`: the kind's glyph (`kind` overrides the step's), then the
    name (an LLM call's is its model); a failed step ends in ✗."""
    if step is None:
        return ("", "")
    glyph = KIND_ICONS.get(kind or step.kind, KIND_ICONS["other"])[0]
    text = f"{glyph} {printable(step.name, True)}" + (" ✗" if step.status == "error" else "")
    return (text, "dim" if dim else ("red" if step.status == "error" else ""))


def _delta_cell(value: float | None, show) -> Cell:
    if value is None or value == 0:
        return ("", "")
    return (show(value), "red" if value > 0 else "green")


def print_diff(comparison: Comparison, out: IO[str], others: Sequence[TraceAnalysis] = ()) -> None:
    """The comparison as a table; `others` (traces of B's family) name the kinds of a golden route's steps."""
    from rich.text import Text

    console = make_console(out, piped_width=140)
    a_line, b_line, verdict = diff_heading(comparison)
    console.print(Text(f"{a_line}\n{b_line}", style="bold"))
    rows = [[Text(text, style=style) for text, style in cells] for cells in diff_table(comparison, others)]
    used = [index for index in range(len(DIFF_HEADERS)) if index == 1 or any(row[index].plain for row in rows)]
    columns = [Column(header, "right" if right else "left", keep=DIFF_KEEP.get(index), wrap=index in (0, 2, 3), wrap_width=20)
               for index, (header, right) in enumerate(DIFF_HEADERS) if index in used]
    table, dropped = fit_table(console, columns, [[row[index] for index in used] for row in rows], title_justify="left")
    console.print(table)
    if dropped:
        console.print(narrow_note(console, dropped))
    console.print(Text(verdict))
    if comparison.approximate:
        console.print(Text("(the runs differ in over 1,000 steps: aligned approximately)", style="dim"))
