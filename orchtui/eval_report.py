"""`orchtui eval` tables: a trace x evaluator grid where it fits, verdicts stacked per trace where it does not.

Nine evaluators of `1.00 pass` need about 110 columns. Below that Rich would cut every cell to `1.00…`, hiding
the one word the table is for, so a narrow terminal gets one row per trace and verdict instead: `fail` and the
evaluators (with scores) that gave it, worst first. Trace text goes through `printable` into `rich.text.Text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from parsers.span import ReadError

from .cli_tables import Column, fit_table, make_console
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
WORST_FIRST = ("fail", "warn", "n/a", "pass")


def print_eval_tables(evaluations: list[TraceEvaluation], errors: list[ReadError], out: IO[str], limits: Sequence[LimitResult] = ()) -> None:
    from rich.text import Text

    console = make_console(out, piped_width=140)
    names: list[str] = []
    for evaluation in evaluations:
        for result in evaluation.results:
            if result.evaluator not in names:
                names.append(result.evaluator)
    table, dropped = _grid(console, evaluations, names)
    console.print(_stacked(console, evaluations) if dropped else table)
    for evaluation in evaluations:
        for result in evaluation.results:
            if result.passed is False:
                head = Text(f"{printable(evaluation.analysis.name, True)} · {result.evaluator}: ", style="bold")
                head.append(result.label, style=LABEL_STYLES[result.label])
                console.print(head)
                console.print(Text("  " + printable(result.explanation).replace("\n", "\n  ")))
    if limits:
        console.print(limits_table(limits))
    if errors:
        console.print(Text(f"{len(errors)} record(s) could not be read (see --json)", style="yellow"))


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

    columns = [Column("trace", wrap=True), *(Column(COLUMN_NAMES.get(name, name), "center", keep=1) for name in names)]
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
                who = ", ".join(COLUMN_NAMES.get(r.evaluator, r.evaluator) + ("" if label == "pass" or r.score is None else f" {_score(r)}") for r in results)
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
