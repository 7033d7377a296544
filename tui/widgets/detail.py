"""The detail pane of the selected step: summary, messages, input/output, attributes, events, findings, evals.

Only the visible tab is rendered, and only when the selection or the trace version changes. Values are clipped
to a bounded prefix before any highlighting (a megabyte attribute must not freeze the UI); `a` shows everything,
`o` pages the full text and `c` copies it. Every tab scrolls from the keyboard while the pane has focus (j/k,
arrows, pgup/pgdn, g/G, home/end), so the end of a long prompt and the "more characters" marker are reachable
without a mouse. The Evals tab belongs to one trace: moving to another trace puts back that trace's own results
(kept for the last EVALUATIONS_KEPT traces) or the hint to press `e`, never the previous trace's.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Any

import orjson
from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static, TabbedContent, TabPane, Tabs
from textual.widgets.option_list import Option

from orchtui.analysis import TraceAnalysis
from orchtui.analysis.tree import PLACEHOLDER_ID
from orchtui.evaluation import profile_note
from orchtui.formatting import format_cost, format_duration
from parsers.conventions import parse_json_maybe
from parsers.span import Span

from ..render import clip, finding_line, safe, timestamp
from .fields import FieldList
from .pager import page_text
from .step_values import StepValue, step_values
from .value_menu import KeyOptionList, ValueMenu

TABS = ("summary", "messages", "io", "attributes", "events", "findings")
TAB_TITLES = {"summary": "Info", "messages": "Chat", "io": "I/O", "attributes": "Attrs", "events": "Events", "findings": "Flags", "evals": "Evals"}
ROLE_STYLES = {"system": "dim bold", "user": "bold cyan", "assistant": "bold green", "tool": "bold yellow"}
EVALUATIONS_KEPT = 16  # traces whose evaluation the Evals tab shows again on return (each holds its analysis)
EVALS_HINT = "Press e to run the evaluators on this trace."


class FindingList(KeyOptionList):
    """The Evals tab's findings: j/k or arrows move, enter jumps to the step; up from the first goes back to the tabs."""

    class LeftTop(Message):
        pass

    def action_cursor_up(self) -> None:
        if not self.highlighted:
            self.post_message(self.LeftTop())
            return
        super().action_cursor_up()


class DetailPane(Vertical):
    DEFAULT_CSS = """
    DetailPane { height: 1fr; }
    DetailPane VerticalScroll { height: 1fr; }
    DetailPane Static { width: 1fr; }
    """
    BINDINGS = [
        Binding("a", "toggle_show_all", "Show all", id="detail.show_all"),
        Binding("j,down", "scroll_lines(1)", "Scroll", show=False, id="detail.scroll_down"),
        Binding("k,up", "scroll_lines(-1)", "Scroll up", show=False, id="detail.scroll_up"),
        Binding("pagedown", "scroll_page(1)", "Page down", show=False, id="detail.page_down"),
        Binding("pageup", "scroll_page(-1)", "Page up", show=False, id="detail.page_up"),
        Binding("g,home", "scroll_edge(0)", "Top", show=False, id="detail.top"),
        Binding("G,end", "scroll_edge(1)", "Bottom", show=False, id="detail.bottom"),
        Binding("enter", "enter_findings", "Findings", id="detail.findings"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.analysis: TraceAnalysis | None = None
        self.span_id: str | None = None
        self.show_all = False
        self._rendered: dict[str, tuple] = {}
        self._evaluations: OrderedDict[str, Any] = OrderedDict()  # trace id -> its latest TraceEvaluation
        self._evals_trace: str | None = None  # the trace the Evals tab is about
        self._finding_texts: list[str] = []

    class JumpToSpan(Message):
        """A finding in the Evals tab was chosen: show its step in the tree."""

        def __init__(self, span_id: str) -> None:
            super().__init__()
            self.span_id = span_id

    def compose(self) -> ComposeResult:
        with TabbedContent(id="detail-tabs", initial="summary"):
            for tab in TABS:
                with TabPane(TAB_TITLES[tab], id=tab):
                    with VerticalScroll(id=f"{tab}-scroll"):
                        yield Static(id=f"{tab}-body")
            with TabPane(TAB_TITLES["evals"], id="evals"):
                with VerticalScroll(id="evals-scroll"):
                    yield Static(Text(EVALS_HINT, style="dim"), id="evals-body")
                    yield FindingList(id="evals-findings", compact=True)

    def on_mount(self) -> None:
        self.query_one("#evals-findings").display = False

    # -- evals -------------------------------------------------------------------------------------------------------

    def show_evaluation(self, evaluation) -> None:
        """Keep an orchtui.evaluation.TraceEvaluation and show it if its trace is still the selected one (a worker
        can finish after the user moved on: then it waits for their return instead of covering another trace)."""
        trace_id = evaluation.analysis.trace_id
        self._evaluations[trace_id] = evaluation
        self._evaluations.move_to_end(trace_id)
        while len(self._evaluations) > EVALUATIONS_KEPT:
            self._evaluations.popitem(last=False)
        if self.analysis is None or self.analysis.trace_id != trace_id:
            return
        self._render_evaluation(evaluation)
        self.query_one(TabbedContent).active = "evals"

    def _render_evaluation(self, evaluation) -> None:
        """A row per evaluator, then the findings to jump to."""
        self._evals_trace = evaluation.analysis.trace_id
        self.query_one("#evals-body", Static).update(evaluation_view(evaluation))
        options = self.query_one("#evals-findings", OptionList)
        options.clear_options()
        self._finding_texts = []
        for result in evaluation.results:
            for finding in result.findings:
                if finding.span_id and finding.severity != "info":
                    line = Text(f"{result.evaluator}: ", style="bold")
                    line.append_text(finding_line(finding))
                    options.add_option(Option(line, id=f"{len(options.options)}:{finding.span_id}"))
                    self._finding_texts.append(f"{result.evaluator}: {finding.code}: {finding.message}")
        options.display = bool(options.options)
        if options.options:
            options.highlighted = 0

    def clear_evaluation(self, message: str) -> None:
        self._evals_trace = self.analysis.trace_id if self.analysis is not None else None
        self._evaluations.pop(self._evals_trace, None)  # being re-run: the old result is superseded
        self.query_one("#evals-body", Static).update(Text(safe(message), style="dim"))
        findings = self.query_one("#evals-findings", OptionList)
        findings.clear_options()
        findings.display = False
        self._finding_texts = []

    def _follow_evaluation(self) -> None:
        """The selection moved to another trace: show its evaluation if one is kept, else the hint."""
        trace_id = self.analysis.trace_id if self.analysis is not None else None
        if trace_id == self._evals_trace:
            return
        evaluation = self._evaluations.get(trace_id) if trace_id is not None else None
        if evaluation is not None:
            self._render_evaluation(evaluation)
        else:
            self.clear_evaluation(EVALS_HINT)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.JumpToSpan(event.option.id.split(":", 1)[1]))

    def on_finding_list_left_top(self, event: FindingList.LeftTop) -> None:
        event.stop()
        self.query_one(Tabs).focus()

    # -- focus and scrolling -----------------------------------------------------------------------------------------

    def _findings_ready(self) -> bool:
        findings = self.query_one("#evals-findings", OptionList)
        return self.active_tab == "evals" and findings.display and findings.option_count > 0

    def focus_stops(self) -> list[Widget]:
        """Where tab stops inside the pane: the tabs, then on the Evals tab its findings."""
        stops: list[Widget] = [self.query_one(Tabs)]
        if self._findings_ready():
            stops.append(self.query_one("#evals-findings"))
        return stops

    def cycle_focus(self, step: int) -> bool:
        """tab/shift+tab inside the pane: move to the next stop and return True, or False at the pane's edge (the
        app then moves to the next pane). Focus on a scroll area (a click) counts as the tabs."""
        focused = self.app.focused
        if focused is None or self not in focused.ancestors_with_self:
            return False
        stops = self.focus_stops()
        position = stops.index(focused) if focused in stops else 0
        target = position + step
        if 0 <= target < len(stops):
            self.screen.set_focus(stops[target])  # now: keys typed right after tab act on the new stop
            return True
        return False

    def _scroll(self) -> VerticalScroll:
        return self.query_one(f"#{self.active_tab}-scroll", VerticalScroll)

    def action_scroll_lines(self, lines: int) -> None:
        scroll = self._scroll()
        if lines > 0 and self._findings_ready() and self._findings_in_view(scroll):
            self.action_enter_findings()
            return
        scroll.scroll_relative(y=lines, animate=False)

    def _findings_in_view(self, scroll: VerticalScroll) -> bool:
        """True when the findings list's first line is on screen (or the body has nothing left to scroll)."""
        top = self.query_one("#evals-findings").virtual_region.y
        return top < scroll.scroll_y + scroll.scrollable_content_region.height or scroll.scroll_y >= scroll.max_scroll_y

    def action_scroll_page(self, pages: int) -> None:
        scroll = self._scroll()
        (scroll.scroll_page_down if pages > 0 else scroll.scroll_page_up)(animate=False)

    def action_scroll_edge(self, end: int) -> None:
        scroll = self._scroll()
        (scroll.scroll_end if end else scroll.scroll_home)(animate=False)

    def action_enter_findings(self) -> None:
        if self._findings_ready():
            self.query_one("#evals-findings").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "enter_findings":
            return self._findings_ready()
        return True

    # -- copy and page -----------------------------------------------------------------------------------------------

    def selected_span(self) -> Span | None:
        analysis, span_id = self.analysis, self.span_id
        if analysis is None or span_id is None or span_id not in analysis.tree.spans:
            return None
        return analysis.tree.spans[span_id]

    def _focused_value(self) -> StepValue | None:
        """A focused Evals finding is a value by itself: `c`/`o` act on it without a menu."""
        findings = self.query_one("#evals-findings", OptionList)
        if self.app.focused is findings and findings.highlighted is not None and findings.highlighted < len(self._finding_texts):
            text = self._finding_texts[findings.highlighted]
            return StepValue("", "finding", lambda: text)
        return None

    def choose_value(self, verb: str) -> None:
        """`c` (verb "Copy") or `o` ("Open"): act on the focused value, else ask which value of the step."""
        value = self._focused_value()
        if value is not None:
            self._act(verb, value)
            return
        span = self.selected_span()
        if span is None:
            self.app.notify("No step selected", severity="warning")
            return
        values = step_values(span, self.active_tab)
        self.app.push_screen(ValueMenu(verb, values), partial(self._value_chosen, verb))

    def _value_chosen(self, verb: str, chosen: StepValue | None) -> None:
        if chosen is not None:
            self.call_after_refresh(self._act, verb, chosen)  # once the menu is gone: the pager suspends the screen

    def _act(self, verb: str, value: StepValue) -> None:
        if verb == "Copy":
            self.copy_value(value)
        else:
            self.page_value(value)

    def copy_value(self, value: StepValue) -> None:
        """OSC 52 through Textual: the terminal, even at the far end of ssh, puts the text on the clipboard."""
        text = value.text()
        self.app.copy_to_clipboard(text)
        self.app.notify(f"Copied {value.label} ({len(text):,} characters)", title="Clipboard", timeout=3)

    def page_value(self, value: StepValue) -> None:
        text = value.text()
        try:
            with self.app.suspend():
                error = page_text(text, value.label)
        except SuspendNotSupported:
            self.app.notify("This terminal cannot hand over to a pager; press c to copy instead", severity="warning")
            return
        if error is not None:
            self.app.notify(error, title="Pager", severity="error")

    # -- rendering ---------------------------------------------------------------------------------------------------

    def show(self, analysis: TraceAnalysis | None, span_id: str | None) -> None:
        self.analysis, self.span_id = analysis, span_id
        if not self.query("#evals-body"):  # the tabs are not composed yet (the first poll can come first):
            return  # they show the selection when they are, through the tab activation below
        self._follow_evaluation()
        self.refresh_active()

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active or "summary"

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_active()

    def refresh_active(self) -> None:
        tab = self.active_tab
        if tab == "evals":
            return  # filled by show_evaluation when `e` runs
        key = (self.analysis.trace_id if self.analysis else None, self.analysis.version if self.analysis else None, self.span_id, self.show_all)
        if self._rendered.get(tab) == key:
            return
        self._rendered[tab] = key
        self.query_one(f"#{tab}-body", Static).update(self.render_tab(tab))

    def render_tab(self, tab: str) -> RenderableType:
        analysis, span_id = self.analysis, self.span_id
        if analysis is None:
            return Text("No trace selected.", style="dim")
        if span_id is None or span_id == PLACEHOLDER_ID or span_id not in analysis.tree.spans:
            if tab == "findings":
                return findings_view(analysis, None)
            return Text(
                f"{len(analysis.tree.orphans)} span(s) arrived whose parent never did; they are listed under this node."
                if span_id == PLACEHOLDER_ID
                else "No step selected.",
                style="dim",
            )
        span = analysis.tree.spans[span_id]
        renderers = {
            "summary": summary_view,
            "messages": messages_view,
            "io": lambda s, a: io_view(s, self.show_all),
            "attributes": lambda s, a: attributes_view(s, self.show_all),
            "events": events_view,
            "findings": lambda s, a: findings_view(a, s.span_id),
        }
        return renderers[tab](span, analysis)

    def action_toggle_show_all(self) -> None:
        self.show_all = not self.show_all
        self._rendered.clear()
        self.refresh_active()
        self.notify("Showing full values" if self.show_all else f"Values clipped to {20_000:,} characters")


def summary_view(span: Span, analysis: TraceAnalysis) -> RenderableType:
    table = FieldList()

    def row(name: str, value: Any, style: str = "") -> None:
        if value is not None and value != "" and value != ():
            table.add_row(Text(name, style="bold"), Text(safe(value), style=style))

    row("name", span.name)
    row("kind", span.kind)
    row("status", span.status, "bold red" if span.status == "error" else "green" if span.status == "ok" else "")
    row("error", span.status_message, "red")
    row("model", span.model)
    row("provider", span.provider)
    if span.tokens is not None:
        tokens = span.tokens
        parts = [f"{tokens.prompt or 0:,} in", f"{tokens.completion or 0:,} out", f"{tokens.total or 0:,} total"]
        parts += [f"{value:,} {name}" for name, value in (("cache read", tokens.cache_read), ("cache write", tokens.cache_write), ("reasoning", tokens.reasoning)) if value]
        row("tokens", ", ".join(parts))
    cost = analysis.span_costs.get(span.span_id)
    if cost is not None:
        row("cost", format_cost(cost) + (" (reported)" if span.cost_usd is not None else " (genai-prices)"))
    if span.kind == "llm":
        row("finish reasons", ", ".join(span.finish_reasons) or "(none recorded)")
        row("stop reason", span.stop_reason, "bold red" if span.stop_reason in ("missing", "length", "content_filter", "error") else "")
    row("tool", span.tool_name)
    if span.tool_args is not None:
        row("arguments", orjson.dumps(span.tool_args).decode() if not isinstance(span.tool_args, str) else span.tool_args)
    row("tool call id", span.tool_call_id)
    row("retry attempt", analysis.retry_attempts.get(span.span_id))
    row("start", timestamp(span.start_ns))  # the list's local time and zone
    row("duration", format_duration(span.duration_ns / 1e6) if span.duration_ns is not None else "running")
    row("graph step", span.graph_step)
    row("graph node", span.graph_node)
    row("agent", span.agent_name)
    row("session", span.session_id)
    row("service", span.service)
    row("span id", span.span_id)
    row("parent id", span.parent_id)
    row("trace id", span.trace_id)
    row("source", str(span.source) if span.source else None)
    return table


def messages_view(span: Span, analysis: TraceAnalysis) -> RenderableType:
    messages = span.messages
    if not messages:
        return Text("This step recorded no chat messages.", style="dim")
    parts: list[RenderableType] = []
    output_start = len(span.input_messages)
    for index, message in enumerate(messages):
        if index == output_start:
            parts.append(Text("── response ──", style="dim"))
        header = Text(safe(message.role, True), style=ROLE_STYLES.get(message.role, "bold"))
        if message.name:
            header.append(f" ({safe(message.name, True)})", style="dim")
        if message.tool_call_id:
            header.append(f" for call {safe(message.tool_call_id, True)}", style="dim")
        parts.append(header)
        if message.content:
            text, hidden = clip(message.content, False)
            parts.append(Text(safe(text)))
            if hidden:
                parts.append(Text(f"… {hidden:,} more characters (a: show all)", style="dim italic"))
        for call in message.tool_calls:
            arguments = call.arguments if not isinstance(call.arguments, str) else parse_json_maybe(call.arguments)
            pretty = orjson.dumps(arguments, option=orjson.OPT_INDENT_2).decode() if not isinstance(arguments, str) else arguments
            parts.append(Text.assemble(("→ ", "bold"), (safe(call.name, True), "bold cyan"), (f"  {safe(call.id or '', True)}", "dim")))
            parts.append(Syntax(safe(pretty), "json", theme="ansi_dark", background_color="default", word_wrap=True))
        parts.append(Text(""))
    return Group(*parts)


def value_view(value: str | None, show_all: bool) -> RenderableType:
    if value is None:
        return Text("(none)", style="dim")
    text, hidden = clip(value, show_all)
    parsed = parse_json_maybe(text) if not hidden else None
    if isinstance(parsed, (dict, list)):
        body: RenderableType = Syntax(safe(orjson.dumps(parsed, option=orjson.OPT_INDENT_2).decode()), "json", theme="ansi_dark", background_color="default", word_wrap=True)
    else:
        body = Text(safe(text))
    if hidden:
        return Group(body, Text(f"… {hidden:,} more characters (a: show all)", style="dim italic"))
    return body


def io_view(span: Span, show_all: bool) -> RenderableType:
    return Group(Text("input", style="bold underline"), value_view(span.input, show_all), Text(""), Text("output", style="bold underline"), value_view(span.output, show_all))


def attributes_view(span: Span, show_all: bool) -> RenderableType:
    if not span.attributes:
        return Text("No attributes.", style="dim")
    table = FieldList()
    for key in sorted(span.attributes):
        value = span.attributes[key]
        text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
        shown, hidden = clip(text, show_all)
        if not show_all and len(shown) > 2000:
            hidden += len(shown) - 2000
            shown = shown[:2000]
        cell = Text(safe(shown))
        if hidden:
            cell.append(f" … {hidden:,} more characters (a: show all)", style="dim italic")
        table.add_row(Text(safe(key, True), style="cyan"), cell)
    return table


def events_view(span: Span, analysis: TraceAnalysis) -> RenderableType:
    if not span.events:
        return Text("No events.", style="dim")
    parts: list[RenderableType] = []
    for event in span.events:
        offset = f"+{(event.time_ns - span.start_ns) / 1e6:.1f}ms" if event.time_ns and span.start_ns else ""
        is_exception = event.name == "exception"
        parts.append(Text.assemble((safe(event.name, True), "bold red" if is_exception else "bold"), (f"  {offset}", "dim")))
        attributes = dict(event.attributes)
        stack = attributes.pop("exception.stacktrace", None)
        table = FieldList()
        for key in sorted(attributes):
            table.add_row(Text(safe(key, True), style="cyan"), Text(safe(attributes[key])))
        parts.append(table)
        if stack:
            text, _ = clip(str(stack), False)
            parts.append(Text(safe(text), style="red"))
        parts.append(Text(""))
    return Group(*parts)


def findings_view(analysis: TraceAnalysis, span_id: str | None) -> RenderableType:
    if not analysis.findings:
        return Text("No findings in this trace.", style="green")
    here = analysis.findings_by_span.get(span_id, []) if span_id else []
    parts: list[RenderableType] = []
    if span_id:
        parts.append(Text("this step", style="bold underline"))
        if here:
            parts.extend(finding_line(f) for f in here)
        else:
            parts.append(Text("nothing flagged on this step", style="dim"))
        parts.append(Text(""))
    parts.append(Text("whole trace", style="bold underline"))
    for finding in sorted(analysis.findings, key=lambda f: -("info", "warn", "critical").index(f.severity)):
        parts.append(finding_line(finding))
    return Group(*parts)


LABEL_STYLES = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red", "n/a": "dim"}


def evaluation_view(evaluation) -> RenderableType:
    """One row per evaluator: score bar, label, explanation (its first line, then its bullets)."""
    parts: list[RenderableType] = []
    route = evaluation.route.match if evaluation.route is not None else "no gate route: reference-free evaluators"
    parts.append(Text.assemble(("route ", "bold"), (safe(route, True), "cyan")))
    note = profile_note(evaluation)  # only when not the default profile
    if note is not None:
        parts.append(Text(safe(note), style="magenta"))
    for result in evaluation.results:
        score = result.score
        filled = 0 if score is None else round(score * 10)
        row = Text()
        row.append(f"{result.evaluator:<22}", style="bold")
        row.append("█" * filled, style=LABEL_STYLES[result.label])
        row.append("░" * (10 - filled), style="dim")
        row.append(f" {'–' if score is None else f'{score:.2f}':>4} ", style="bold")
        row.append(f"{result.label:<4}", style=LABEL_STYLES[result.label])
        parts.append(row)
        lines = result.explanation.splitlines()
        parts.append(Text("  " + safe(lines[0] if lines else ""), style="dim" if result.passed else ""))
        for bullet in lines[1:6]:
            parts.append(Text("  " + safe(bullet), style="dim"))
    return Group(*parts)
