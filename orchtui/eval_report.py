"""`orchtui eval` tables: a trace x evaluator grid where it fits, verdicts stacked per trace where it does not.

Nine evaluators of `1.00 pass` need about 110 columns. Below that Rich would cut every cell to `1.00…`, hiding
the one word the table is for, so a narrow terminal gets one row per trace and verdict instead: `fail` and the
evaluators (with scores) that gave it, worst first. Trace text goes through `printable` into `rich.text.Text`.

An evaluator that ran under a profile other than the default (`--profile futureagi`, a gate's `profile`) has a `*`
after its name in the column head (the stacked rows and failure lines mark it per trace), and a note under the
table says which profile scored which evaluators on how many traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from parsers.span import ReadError

from .cli_tables import (
    LIST_EVERY_TRACE_UP_TO,
    Column,
    count_traces,
    fit_table,
    make_console,
)
from .evaluation import DEFAULT_PROFILE, PROFILE_EVALUATORS, PROFILE_TITLES
from .textsafe import printable

if TYPE_CHECKING:
    from .batch_gate import LimitResult
    from .evaluation import TraceEvaluation

# Short column heads, so nine evaluators fit a 140-column CI log without cutting every name to "Tool…".
COLUMN_NAMES = {
    "ToolSelectionAccuracy": "ToolSelect",
    "TaskCompletion": "Task",
    "TrajectoryMatch": "TrajMatch",
    "TrajectoryScore": "TrajScore",
    "TrajectoryJudge": "TrajJudge",
    "StepEfficiency": "Efficiency",
    "LoopDetection": "Loops",
    "StopReason": "StopReason",
    "PromptInjection": "Injection",
    "Faithfulness": "Faithful",
}
LABEL_STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red", "n/a": "dim"}
PROFILE_MARK = "*"  # after an evaluator's name: it ran under a profile other than the default
WORST_FIRST = ("fail", "warn", "n/a", "pass")


def print_eval_tables(
    evaluations: list[TraceEvaluation],
    errors: list[ReadError],
    out: IO[str],
    limits: Sequence[LimitResult] = (),
    list_all: bool = False,
) -> None:
    """The grid (or stacked verdicts), the profile notes, each failure's explanation, the route limits. Of more
    than LIST_EVERY_TRACE_UP_TO traces, only those with a `warn` or `fail` verdict are rows unless `list_all`."""
    from rich.text import Text

    console = make_console(out, piped_width=140)
    names: list[str] = []
    for evaluation in evaluations:
        for result in evaluation.results:
            if result.evaluator not in names:
                names.append(result.evaluator)
    listed = evaluations
    if not list_all and len(evaluations) > LIST_EVERY_TRACE_UP_TO:
        listed = [e for e in evaluations if any(r.label in ("warn", "fail") for r in e.results)]
    unlisted = len(evaluations) - len(listed)
    if listed:
        table, dropped = _grid(console, listed, names)
        console.print(_stacked(console, listed) if dropped else table)
    if unlisted:
        what = f"and {count_traces(unlisted, 'more ')} with" if listed else f"orchtui eval: {count_traces(unlisted)},"
        console.print(Text(f"{what} every verdict pass or n/a (--all lists them)", style="dim"))
        console.print(verdict_counts(evaluations, names))  # what the rows no longer show, at a glance
    for note in profile_notes(evaluations):
        console.print(Text(note, style="dim"))
    for evaluation in evaluations:
        for result in evaluation.results:
            if result.passed is False:
                under = evaluation.profile_of(result.evaluator)
                profile = "" if under == DEFAULT_PROFILE else f" (profile {under})"
                head = Text(f"{printable(evaluation.analysis.name, True)} · {result.evaluator}{profile}: ", style="bold")
                head.append(result.label, style=LABEL_STYLES[result.label])
                console.print(head)
                console.print(Text("  " + printable(result.explanation).replace("\n", "\n  ")))
    if limits:
        console.print(limits_table(limits))
    if errors:
        console.print(Text(f"{len(errors)} record(s) could not be read (see --json)", style="yellow"))


def verdict_counts(evaluations: list[TraceEvaluation], names: list[str]) -> Any:
    """Per evaluator, how many traces got each verdict: the whole run when the grid lists only some of it."""
    from rich.table import Table
    from rich.text import Text

    counts = {name: dict.fromkeys(WORST_FIRST, 0) for name in names}
    for evaluation in evaluations:
        for result in evaluation.results:
            counts[result.evaluator][result.label] += 1
    table = Table(title=f"verdicts over {count_traces(len(evaluations))}", title_justify="left")
    table.add_column("evaluator", no_wrap=True)
    for label in WORST_FIRST:
        table.add_column(label, justify="right", no_wrap=True)
    for head, by_label in zip(_heads(evaluations, names), counts.values()):
        table.add_row(head, *(Text(f"{n:,}", style=LABEL_STYLES[label] if n else "dim") for label, n in by_label.items()))
    return table


def _heads(evaluations: list[TraceEvaluation], names: list[str]) -> list[str]:
    """The evaluators' short names, marked where any trace ran one under a profile other than the default."""
    profiled = {name for evaluation in evaluations for name in evaluation.profiled()}
    return [COLUMN_NAMES.get(name, name) + (PROFILE_MARK if name in profiled else "") for name in names]


def profile_notes(evaluations: list[TraceEvaluation]) -> list[str]:
    """A line per profile other than the default that any trace asked for: which evaluators it scored (marked `*`
    in the table), on how many of the traces, and that the others ran under the default profile. None when every
    trace ran under the default profile, so the usual report is unchanged."""
    notes = []
    for profile in dict.fromkeys(e.profile for e in evaluations if e.profile != DEFAULT_PROFILE):
        asked = [e for e in evaluations if e.profile == profile]
        covered: list[str] = []
        for evaluation in asked:
            covered += [name for name in evaluation.profiled() if name not in covered]
        if not covered:
            notes.append(f"profile {profile}: none of the evaluators run has its formulas (it covers "
                         f"{', '.join(PROFILE_EVALUATORS[profile])}); every result is the default profile's")
            continue
        where = "" if len(asked) == len(evaluations) else f" on {len(asked)} of {len(evaluations)} traces"
        routes = sorted({printable(e.route.match, True) for e in asked if e.route is not None})
        if where and routes:
            where += f" (route{'s' if len(routes) > 1 else ''} {', '.join(routes)})"
        names = ", ".join(COLUMN_NAMES.get(name, name) for name in covered)
        notes.append(f"{PROFILE_MARK} profile {profile} ({PROFILE_TITLES[profile]}): {names}{where}; every other result: the default profile")
    return notes


def _marked(evaluation: TraceEvaluation, name: str) -> str:
    """The evaluator's short name, with the profile mark when it ran under a profile other than the default."""
    return COLUMN_NAMES.get(name, name) + ("" if evaluation.profile_of(name) == DEFAULT_PROFILE else PROFILE_MARK)


def _trace_label(evaluation: TraceEvaluation) -> Any:
    from rich.text import Text

    label = printable(evaluation.analysis.name, single_line=True)
    if evaluation.route is not None:
        label += f" [{printable(evaluation.route.match, True)}]"
    return Text(label)


def _score(result: Any) -> str:
    return "–" if result.score is None else f"{result.score:.2f}"


def _grid(console: Any, evaluations: list[TraceEvaluation], names: list[str]) -> tuple[Any, list[str]]:
    """The trace x evaluator grid; a non-empty second value means it does not fit (every evaluator column is
    marked droppable so `fit_table` says so, and the caller stacks instead)."""
    from rich.text import Text

    columns = [Column("trace", wrap=True), *(Column(head, "center", keep=1) for head in _heads(evaluations, names))]
    rows = []
    for evaluation in evaluations:
        by_name = {r.evaluator: r for r in evaluation.results}
        cells = [Text("") if (result := by_name.get(name)) is None else
                 Text(f"{_score(result)} {result.label}", style=LABEL_STYLES[result.label]) for name in names]
        rows.append([_trace_label(evaluation), *cells])
    return fit_table(console, columns, rows, title="orchtui eval", title_justify="left")


def _stacked(console: Any, evaluations: list[TraceEvaluation]) -> Any:
    """One row per trace and verdict: the verdict whole, then which evaluators gave it (and their scores)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="orchtui eval", title_justify="left")
    table.add_column("trace", overflow="fold", ratio=2)
    table.add_column("verdict", no_wrap=True)
    table.add_column("evaluators", overflow="fold", ratio=3)
    for evaluation in evaluations:
        rows = []
        for label in WORST_FIRST:
            results = [result for result in evaluation.results if result.label == label]
            if results:
                who = ", ".join(_marked(evaluation, r.evaluator) + ("" if label == "pass" or r.score is None else f" {_score(r)}") for r in results)
                rows.append([Text(label, style=LABEL_STYLES[label]), Text(who)])
        for index, (verdict, who) in enumerate(rows):
            table.add_row(_trace_label(evaluation) if index == 0 else "", verdict, who, end_section=index == len(rows) - 1)
    return table


def limits_table(limits: Sequence[LimitResult]) -> Any:
    """Route limits over each route's traces: the route and the result's verdict wrap, never cut."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="route limits (over each route's traces)", title_justify="left")
    for column in ("route", "traces", "limit", "result"):
        table.add_column(column, no_wrap=column == "traces", overflow="fold", justify="right" if column == "traces" else "left")
    for limit in limits:
        table.add_row(
            Text(printable(limit.route.match, single_line=True)),
            str(limit.traces),
            limit.limit,
            Text(f"{limit.label}  {limit.explanation}", style=LABEL_STYLES[limit.label]),
        )
    return table
