"""`d`: a trace beside the marked one (or its golden route), steps aligned, what changed on each step.

The comparison itself is the engine's (`orchtui.analysis.compare`), the same one `orchtui diff` prints; this
screen only lays it out: A's step, what happened to it, B's step, the changes, and B-minus-A token, cost and
latency deltas. Enter on a row closes the screen on that step of B (or of A when B has none), so the step tree
and detail pane show it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from orchtui.analysis.compare import Comparison
from orchtui.formatting import KIND_ICONS
from orchtui.routes_report import DIFF_HEADERS, OP_MARKS, diff_heading, diff_table, golden_kinds

from ..render import safe
from ..widgets.key_table import KeyTable

TITLE_CHARS = 60  # of each label in the border title


@dataclass(frozen=True)
class StepChoice:
    """Where enter on a row leads: a span of one of the two traces."""

    trace_id: str
    span_id: str


class CompareScreen(Screen[StepChoice | None]):
    DEFAULT_CSS = """
    CompareScreen #compare-box { border: round $accent; height: 1fr; }
    CompareScreen #compare-summary { height: auto; padding: 0 1; border-bottom: solid $primary 50%; }
    CompareScreen DataTable { height: 1fr; width: 1fr; }
    """
    BINDINGS = [
        Binding("escape,d,q", "close", "Back", id="compare.close"),
        Binding("enter", "choose", "Go to step", id="compare.choose", priority=True),
    ]

    def __init__(self, comparison: Comparison, a_trace_id: str | None, b_trace_id: str) -> None:
        super().__init__()
        self.comparison = comparison
        self.a_trace_id = a_trace_id  # None when A is a golden route from the gate file
        self.b_trace_id = b_trace_id

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-box"):
            yield Static(summary_text(self.comparison), id="compare-summary")
            yield KeyTable(id="compare-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        comparison = self.comparison
        box = self.query_one("#compare-box")
        # Content, not a str: Textual parses a str title as markup, and the labels are trace names.
        box.border_title = Content(f"compare  A: {safe(comparison.a_label, True, TITLE_CHARS)}  ·  B: {safe(comparison.b_label, True, TITLE_CHARS)}")
        table = self.query_one(KeyTable)
        for header, _ in DIFF_HEADERS:
            table.add_column(header)
        kinds = golden_kinds(comparison) if comparison.golden else {}
        for row, cells in zip(comparison.rows, diff_table(comparison)):
            table.add_row(*row_cells(row, cells, kinds))
        table.focus()

    def action_choose(self) -> None:
        table = self.query_one(KeyTable)
        if not 0 <= table.cursor_row < len(self.comparison.rows):
            return
        row = self.comparison.rows[table.cursor_row]
        if row.b is not None and row.b.span_id is not None:
            self.dismiss(StepChoice(self.b_trace_id, row.b.span_id))
        elif row.a is not None and row.a.span_id is not None and self.a_trace_id is not None:
            self.dismiss(StepChoice(self.a_trace_id, row.a.span_id))
        else:
            self.notify("This step has no span to go to (a golden route's step)", severity="warning")

    def action_close(self) -> None:
        self.dismiss(None)


def summary_text(comparison: Comparison) -> Text:
    """`A: 6 steps  B: 5 steps`, each count by its own run's letter, then how B departs and the op legend."""
    verdict = diff_heading(comparison)[2]
    text = Text(f"A: {len(comparison.a.steps)} steps  B: {len(comparison.b.steps)} steps  ", style="bold")
    text.append(verdict)
    if comparison.approximate:
        text.append("  (the runs differ in over 1,000 steps: aligned approximately)", style="dim")
    text.append("\n")
    for op, (mark, style) in OP_MARKS.items():
        text.append(f"{mark} {op}  ", style=style)
    return text


def row_cells(row, cells, kinds: dict[str, str]) -> list[Text]:
    """A row's diff cells (`diff_table`), each step's kind glyph in its kind's colour (a golden route's step in
    the kind B gave it)."""
    texts = [Text(text, style=style, justify="right" if right else "left") for (text, style), (_, right) in zip(cells, DIFF_HEADERS)]
    for index, step in ((0, row.a), (2, row.b)):
        if step is not None:
            kind = kinds.get(step.name, step.kind) if index == 0 and kinds else step.kind
            texts[index].stylize(KIND_ICONS.get(kind, KIND_ICONS["other"])[1], 0, 1)
    return texts
