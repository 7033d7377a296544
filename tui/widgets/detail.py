"""The detail pane of the selected step: summary, messages, input/output, attributes, events, findings.

Only the visible tab is rendered, and only when the selection or the trace version changes. Values are clipped
to a bounded prefix before any highlighting (a megabyte attribute must not freeze the UI); `a` shows everything.
"""

from __future__ import annotations

from typing import Any

import orjson
from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from orchtui.analysis import TraceAnalysis
from orchtui.analysis.tree import PLACEHOLDER_ID
from orchtui.formatting import format_cost, format_duration
from parsers.conventions import parse_json_maybe
from parsers.span import Span
from parsers.values import ns_to_iso

from ..render import clip, finding_line, safe

TABS = ("summary", "messages", "io", "attributes", "events", "findings")
TAB_TITLES = {"summary": "Info", "messages": "Chat", "io": "I/O", "attributes": "Attrs", "events": "Events", "findings": "Flags", "evals": "Evals"}
ROLE_STYLES = {"system": "dim bold", "user": "bold cyan", "assistant": "bold green", "tool": "bold yellow"}


class DetailPane(Vertical):
    DEFAULT_CSS = """
    DetailPane { height: 1fr; }
    DetailPane VerticalScroll { height: 1fr; }
    DetailPane Static { width: 1fr; }
    """
    BINDINGS = [Binding("a", "toggle_show_all", "Show all", id="detail.show_all")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.analysis: TraceAnalysis | None = None
        self.span_id: str | None = None
        self.show_all = False
        self._rendered: dict[str, tuple] = {}

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
                    yield Static(Text("Press e to run the evaluators on this trace.", style="dim"), id="evals-body")
                    yield OptionList(id="evals-findings")

    def show_evaluation(self, evaluation) -> None:
        """Render an orchtui.evaluation.TraceEvaluation: a row per evaluator, then its findings to jump to."""
        self.query_one("#evals-body", Static).update(evaluation_view(evaluation))
        options = self.query_one("#evals-findings", OptionList)
        options.clear_options()
        for result in evaluation.results:
            for finding in result.findings:
                if finding.span_id and finding.severity != "info":
                    line = Text(f"{result.evaluator}: ", style="bold")
                    line.append_text(finding_line(finding))
                    options.add_option(Option(line, id=f"{len(options.options)}:{finding.span_id}"))
        options.display = bool(options.options)
        self.query_one(TabbedContent).active = "evals"

    def clear_evaluation(self, message: str) -> None:
        self.query_one("#evals-body", Static).update(Text(safe(message), style="dim"))
        self.query_one("#evals-findings", OptionList).clear_options()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.JumpToSpan(event.option.id.split(":", 1)[1]))

    def show(self, analysis: TraceAnalysis | None, span_id: str | None) -> None:
        self.analysis, self.span_id = analysis, span_id
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


def _field_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def summary_view(span: Span, analysis: TraceAnalysis) -> RenderableType:
    table = _field_table()

    def row(name: str, value: Any, style: str = "") -> None:
        if value is not None and value != "" and value != ():
            table.add_row(name, Text(safe(value), style=style))

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
    row("start", ns_to_iso(span.start_ns))
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
    table = _field_table()
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
        table = _field_table()
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
