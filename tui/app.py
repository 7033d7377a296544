"""The orchtui application: trace list on top, step tree and detail below, status line and key hints.

Data flow: sources (orchtui.sources: files read once or followed, the OTLP receivers, trace stores, the demo) each
run on a thread of their own and feed the `TraceIndex`, which stores and analyses off the event loop. A 10 Hz timer notices a new index generation and asks a worker for the rows to
list (filtering 100k traces must not block keys); the rows come back in one message and are applied in one
batch. Many span batches between two ticks cost one repaint.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, TabbedContent

from orchtui.analysis import TraceAnalysis
from orchtui.analysis.compare import Comparison, compare_traces
from orchtui.config import Config, load_config
from orchtui.evals.judge import Judge
from orchtui.evaluation import evaluate_trace
from orchtui.export import save_trace
from orchtui.gate import Route, append_golden_route, load_gate, route_for
from orchtui.live import QUICK_FILTERS, RouteFilter, TraceIndex
from orchtui.sources.base import ONCE, Notice, Source
from orchtui.store import SpanStore
from orchtui.textsafe import printable
from parsers.span import Span

from . import colour_mode
from .commands import TraceCommands
from .screens.compare import CompareScreen, StepChoice
from .screens.help import HelpScreen
from .screens.routes import RoutesScreen
from .screens.sources import SourcesScreen
from .step_view import search as search_steps
from .widgets.detail import DetailPane
from .widgets.key_footer import KeyFooter
from .widgets.status_bar import StatusBar
from .widgets.step_tree import StepTree
from .widgets.text_field import TextField
from .widgets.trace_list import TraceList

POLL_SECONDS = 0.1
# While saved files load, the newest trace changes with every batch; rebuilding the step tree and the detail for
# each, and listing every trace ten times a second, took the UI thread from the parser for most of a 1M-span load:
# the selection is shown, and the list refreshed, at most this often until loading is done.
SHOW_WHILE_LOADING_SECONDS = 0.5
TOAST_EVERY_SECONDS = 2.0  # at most one "new critical finding" toast per this many seconds
TOAST_CHARS = 300  # a toast shows at most this many characters of a message (a name can be megabytes)
FILTER_ORDER = list(QUICK_FILTERS)[1:] + ["all"]  # f: errors -> loops -> stop reasons -> all
MAIN_SCREEN_ACTIONS = frozenset({
    "filter", "cycle_filter", "save_trace", "evaluate", "save_golden_route", "routes", "mark", "compare", "clear_filter", "focus_pane",
    "toggle_plumbing", "search_steps", "copy_value", "open_value",
})
SEARCH_TITLE_CHARS = 24
KIND_RUNS = 100  # runs read for the kinds of a golden route's steps  # of the search text repeated in the steps pane's title


class MainScreen(Screen[None]):
    """The screen of the app's own panes (the list, the step tree, the detail). tab and shift+tab cycle them:
    bound here, in the chain every key goes through once the focused widget has handled it, and not on the app
    with priority, which would run them as they arrive, ahead of keys typed just before them that the focused
    widget has not handled yet: `enter tab` typed fast moved focus to the tree before the list handled `enter`,
    which then ran the tree's binding (the trace's root step collapsed) and the keys after it were lost."""

    BINDINGS: ClassVar = [
        Binding("tab", "app.focus_pane(1)", "Next pane", show=False, id="app.next_pane"),
        Binding("shift+tab", "app.focus_pane(-1)", "Previous pane", show=False, id="app.previous_pane"),
    ]


class OrchApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "orchtui"
    COMMANDS = App.COMMANDS | {TraceCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit_ctrl_c"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("slash", "filter", "Filter", key_display="/", id="app.filter"),
        Binding("f", "cycle_filter", "Quick filter", id="app.quick_filter"),
        Binding("y", "save_trace", "Save", id="app.save"),
        Binding("p", "toggle_pause", "Pause", id="app.pause"),
        Binding("e", "evaluate", "Evaluate", id="app.evaluate"),
        Binding("E", "save_golden_route", "Save route", id="app.save_route", key_display="E"),
        Binding("r", "routes", "Routes", id="app.routes"),
        Binding("m", "mark", "Mark", id="app.mark"),
        Binding("d", "compare", "Compare", id="app.compare"),
        Binding("exclamation_mark", "sources", "Sources", key_display="!", show=False, id="app.sources"),
        Binding("c", "copy_value", "Copy", show=False, id="app.copy"),
        Binding("o", "open_value", "Open in pager", show=False, id="app.open"),
        Binding("z", "toggle_plumbing", "Plumbing", id="app.plumbing"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="app.clear_filter"),
    ]

    def __init__(
        self,
        index: TraceIndex | None = None,
        *,
        sources: list[Source] | None = None,
        save_dir: str | Path = ".",
        sources_label: str | None = None,
        spec: str | Path | None = None,
        judge: Judge | None = None,
        profile: str | None = None,
        colours: str | None = None,
        theme: str | None = None,
        keymap: dict[str, str] | None = None,
        notices: list[str] | None = None,
    ) -> None:
        super().__init__()
        # colours: colour_mode.FULL, SIXTEEN or NONE; given (tests, snapshots) or decided on mount (_apply_colours).
        self.colour_mode = colours or colour_mode.FULL
        self._colours_given = colours is not None
        self._plain_filter = colour_mode.PlainSeverity()
        self.notices = list(notices or [])  # configuration problems, told once the UI is up
        if theme is not None and theme not in self.available_themes:
            self.notices.append(f"theme {theme!r} is not one of: {', '.join(sorted(self.available_themes))}")
            theme = None
        self._theme_given = theme is not None
        if theme is not None:
            self.theme = theme
        if keymap:
            unknown = sorted(set(keymap) - binding_ids())
            if unknown:
                self.notices.append(f"keymap: no binding with id {', '.join(unknown)} (press ? for the keys)")
            self.set_keymap({key: keys for key, keys in keymap.items() if key not in unknown})
        self.index = index if index is not None else TraceIndex()
        self.sources = list(sources or [])  # each runs on its own thread from mount to unmount
        self.save_dir = Path(save_dir)
        self.quick_filter = "all"
        self.text_filter = ""
        self.route_filter: RouteFilter | None = None
        self.marked_id: str | None = None  # `m`: the A side of the next `d`
        self._once = [source for source in self.sources if source.mode == ONCE]
        self.load_finished = not self._once  # every source read once has read everything (then: sealed)
        self._finish_lock = threading.Lock()
        self._seen_generation = -1
        self._rows_requested = 0
        self._rows_applied = 0
        self._show_timer = None  # a deferred show of the selected trace while files load (_show_later)
        self._listed_at = 0.0  # when _poll last asked for the rows (at most every SHOW_WHILE_LOADING_SECONDS then)
        self.live = any(source.live for source in self.sources)  # demo, followed files, receivers, polled stores
        self.paused = False
        self._held: list[Span] = []
        self._held_lock = threading.Lock()
        self._pending_alerts: list = []
        self.spec = Path(spec) if spec is not None else None
        self.routes = load_gate(self.spec) if self.spec is not None and self.spec.exists() else None
        self.judge = judge  # the optional LLM judge `e` passes to the evaluators with an LLM mode
        self.profile = profile  # the config's evaluator profile; the gate's `profile` wins (orchtui/evaluation.py)
        self._last_toast = 0.0
        self._sources_label = sources_label  # given (tests, snapshots), else made from the sources as they run

    @property
    def sources_label(self) -> str:
        """What the status line says the spans come from (a receiver joins it once listening)."""
        return self._sources_label or describe_sources(self.sources)

    @property
    def load_status(self) -> str | None:
        """The progress of the first source still reading once (`loading spans.jsonl 42%`)."""
        return next((s.status.progress for s in self._once if not s.status.finished and s.status.progress), None)

    @property
    def exposure(self) -> str | None:
        """Set while an OTLP endpoint listens beyond loopback without a token."""
        return next((s.status.warning for s in self.sources if s.status.warning), None)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None, markup: bool = False) -> None:
        """Every toast of the app, escaped and never parsed as markup (`markup` is accepted for Textual's own
        callers and ignored): messages carry trace names, ids and errors, and a toast pops up with no key pressed (a
        live critical finding). Thread-safe, as Textual's is."""
        super().notify(
            printable(message, limit=TOAST_CHARS), title=printable(title, True, limit=80), severity=severity, timeout=timeout, markup=False
        )

    # -- layout ------------------------------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        with Vertical(id="top"):
            yield TextField(
                placeholder="filter traces: name, route, model, tool, attribute value (enter: done, esc: clear)",
                id="filter",
                returns_to=lambda: self.trace_list,
            )
            yield TraceList(id="traces")
        with Horizontal(id="bottom"):
            with Vertical(id="steps-pane"):
                yield TextField(
                    placeholder="search steps (enter: done, n/N: next/prev, esc: end)", id="step-search", returns_to=lambda: self.step_tree
                )
                yield StepTree(id="steps")
            yield DetailPane(id="detail")
        yield StatusBar(id="status")
        yield KeyFooter()

    def get_line_filters(self):
        """Without colour (NO_COLOR, TERM=dumb), `PlainSeverity` alone instead of Textual's ANSI-to-RGB and greying
        filters (see tui/colour_mode.py)."""
        if self.colour_mode == colour_mode.NONE:
            return [self._plain_filter]
        return super().get_line_filters()

    def _apply_colours(self) -> None:
        """The colour mode for this terminal (unless given): 16 colours take the native ANSI theme unless the user
        chose a theme."""
        if not self._colours_given:
            self.colour_mode = colour_mode.FULL if self.is_headless else colour_mode.detect(os.environ, self.console.color_system)
        self.set_class(self.colour_mode == colour_mode.SIXTEEN, "-sixteen")
        if self.colour_mode == colour_mode.SIXTEEN and not self._theme_given:
            self.theme = colour_mode.SIXTEEN_THEME

    def on_mount(self) -> None:
        self._apply_colours()
        # Kept as references: `query_one` searches the active screen, which is the help screen or the command
        # palette while those are open, and updates keep arriving then.
        self.trace_list = self.query_one(TraceList)
        self.step_tree = self.query_one(StepTree)
        self.detail = self.query_one(DetailPane)
        self.status_bar = self.query_one(StatusBar)
        self.filter_input = self.query_one("#filter", Input)
        self.step_search = self.query_one("#step-search", Input)
        self.step_search.display = False
        self.query_one("#top").border_title = "traces"
        self.query_one("#steps").border_title = "steps"
        self.query_one("#detail").border_title = "detail"
        self.filter_input.display = False
        self.trace_list.focus()
        sink = _AppSink(self)
        for source in self.sources:  # each on its own thread: binding, scanning, reading never block the UI
            source.status.listener = self._source_notice
            source.start(sink, on_end=self._source_ended)
        self.set_interval(POLL_SECONDS, self._poll)
        self._poll()
        for notice in self.notices:
            self.notify(notice, title="orchtui config", severity="warning", timeout=10)

    def on_resize(self, event) -> None:
        self.screen.set_class(event.size.width < 100, "-narrow")

    def on_key(self, event: events.Key) -> None:
        """Typeahead: a character that bubbles up to the app while a text field has focus was typed before that
        field took focus. Textual hands each key to the widget focused when the key arrives, so the letters typed
        right after `/` (or `enter` `/`) reached the trace list, came back here unhandled and were dropped: hand
        them to the field instead, in order. (A field keeps the characters typed into it: none bubble up.)"""
        field = self.focused
        if isinstance(field, Input) and event.is_printable:
            event.prevent_default()  # not App's key handling: no binding of the pane just left runs (`q` is text)
            # Typed in now, as the field would (an `enter` after it submits the whole text, not the part the field
            # had taken from its queue by then).
            if field.selection.is_empty:
                field.insert_text_at_cursor(event.character or "")
            else:
                field.replace(event.character or "", *field.selection)

    def on_unmount(self) -> None:
        for source in self.sources:
            source.stop()

    def _source_notice(self, notice: Notice) -> None:
        """A source says something once (cannot listen, open to the network, spool pruned): from its thread;
        notify is thread-safe and escapes."""
        self.notify(notice.message, title=notice.title, severity=notice.severity, timeout=notice.timeout)

    def _source_ended(self, source: Source) -> None:
        """On the source's thread, when it ended. Once every source read once is done, saved inputs are complete:
        unless something is live, a trace whose root never came is finished, not running (seal). Then the inputs
        that could not be read are told."""
        if source.mode != ONCE:
            return
        with self._finish_lock:
            last = not self.load_finished and all(s.status.finished for s in self._once)
            if last:
                if not self.live:
                    self.index.seal()
                self.load_finished = True
        for error in source.report.unreadable:
            self.notify(f"{error.source}: {error.message}", title="Cannot read", severity="error")

    def deliver(self, spans: list[Span]) -> None:
        """Live sources call this from their threads; while paused, batches wait (nothing is dropped)."""
        with self._held_lock:
            if self.paused:
                self._held.extend(spans)
                return
        self.index.add(spans)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The trace keys work on the main screen only (not under Routes or Compare, where they would act on a
        hidden list); `p` exists only for live sources (demo, followed files, the OTLP endpoint)."""
        if action in MAIN_SCREEN_ACTIONS and len(self.screen_stack) > 1:
            return False
        if action == "toggle_pause":
            return self.live
        return True

    def action_toggle_pause(self) -> None:
        with self._held_lock:
            self.paused = not self.paused
            held, self._held = (self._held, []) if not self.paused else ([], self._held)
        if held:
            self.index.add(held)
        self._update_status()

    # -- ingest ------------------------------------------------------------------------------------------------------

    def _poll(self) -> None:
        generation = self.index.generation
        # The list is hidden under Routes or Compare: catch up on return. `screen_stack`, not `screen`: this timer can
        # fire while the app shuts down, when the stack is already empty and `screen` raises.
        stack = self.screen_stack
        covered = bool(stack) and isinstance(stack[-1], (RoutesScreen, CompareScreen))
        now = time.monotonic()
        due = self.load_finished or not self.trace_list.rows or now - self._listed_at >= SHOW_WHILE_LOADING_SECONDS
        if generation != self._seen_generation and not covered and due:
            self._seen_generation = generation
            self._listed_at = now
            self.request_rows()
        if self.live:
            self._announce_critical()
        self._update_status()

    def _announce_critical(self) -> None:
        """A toast for new critical findings as they happen, at most one every TOAST_EVERY_SECONDS."""
        self._pending_alerts.extend(self.index.take_alerts())
        now = time.monotonic()
        if not self._pending_alerts or now - self._last_toast < TOAST_EVERY_SECONDS:
            return
        _, name, finding = self._pending_alerts[0]
        more = len(self._pending_alerts) - 1
        message = f"{printable(name, True, limit=40)}: {printable(finding.message, True, limit=100)}" + (f"\n… and {more} more" if more else "")
        # short-lived and small (app.tcss caps a toast's size): at most two show at once, never most of the screen
        self.notify(message, title=finding.code, severity="error", timeout=TOAST_EVERY_SECONDS * 1.5)
        self._pending_alerts.clear()
        self._last_toast = now

    def request_rows(self) -> None:
        self._rows_requested += 1
        self._compute_rows(self._rows_requested, self.quick_filter, self.text_filter, self.route_filter)

    @work(thread=True, exclusive=True, group="rows", exit_on_error=False)
    def _compute_rows(self, token: int, quick_filter: str, text_filter: str, route_filter: RouteFilter | None) -> None:
        rows = self.index.rows(quick_filter, text_filter, route_filter)
        positions = {row.trace_id: index for index, row in enumerate(rows)}  # O(n): here, not on the UI thread
        self.call_from_thread(self._apply_rows, token, rows, positions)

    def _apply_rows(self, token: int, rows: list[TraceAnalysis], positions: dict[str, int]) -> None:
        if token < self._rows_applied or not self.is_running:
            return  # an older request finished after a newer one, or the app is closing
        self._rows_applied = token
        with self.batch_update():
            self.trace_list.set_rows(rows, positions)
            current = self.trace_list.current
            shown = self.step_tree.analysis
            if current is not None and shown is not None and current.trace_id == shown.trace_id and current.version != shown.version:
                self._show_trace(current) if self.load_finished else self._show_later()
        self._update_status()

    @property
    def rows_settled(self) -> bool:
        """True when the latest row listing asked for has been applied (tests and benchmarks wait on it)."""
        return self._rows_applied >= self._rows_requested

    def _update_status(self) -> None:
        self.status_bar.show(
            self.sources_label,
            self.index.counts(),
            listed=len(self.trace_list.rows),
            quick_filter=self.quick_filter,
            text_filter=self.text_filter,
            route_filter=self.route_filter.label if self.route_filter is not None else None,
            marked=self._marked_label(),
            loading=self.load_status,
            paused=len(self._held) if self.paused else None,
            warning="open to the network without a token" if self.exposure is not None else None,
            waiting=self.live,
        )

    # -- selection ---------------------------------------------------------------------------------------------------

    @on(TraceList.Highlighted)
    def _trace_highlighted(self, event: TraceList.Highlighted) -> None:
        if event.followed and not self.load_finished and self.step_tree.analysis is not None:
            self._show_later()
            return
        self._show_selected()

    def _show_later(self) -> None:
        """Show the selected trace in SHOW_WHILE_LOADING_SECONDS (once, however often it changes meanwhile)."""
        if self._show_timer is None:
            self._show_timer = self.set_timer(SHOW_WHILE_LOADING_SECONDS, self._show_deferred)

    def _show_deferred(self) -> None:
        self._show_timer = None
        self._show_selected()

    def _show_selected(self) -> None:
        """Show the trace under the list's cursor now, not the one a message named: keys typed fast reach the tree
        before the list's messages reach the app, and a message about a row the list has since left is stale."""
        current = self.trace_list.current
        analysis = self.index.get(current.trace_id) if current is not None else None
        shown = self.step_tree.analysis
        if analysis is not None and shown is not None and (shown.trace_id, shown.version) == (analysis.trace_id, analysis.version):
            return  # already shown (the user got there first): the tree keeps its cursor
        self._show_trace(analysis)

    def _show_trace(self, analysis: TraceAnalysis | None) -> None:
        tree = self.step_tree
        tree.show(analysis)
        if tree.matches is None and self.step_search.value:  # another trace: its search does not carry over
            self.step_search.value = ""
            self.step_search.display = False
        self._steps_title()
        span_id = tree.cursor_node.data if tree.cursor_node is not None else None
        self.detail.show(analysis, span_id)

    def action_evaluate(self) -> None:
        analysis = self._selected()
        if analysis is None:
            return
        self.detail.clear_evaluation(f"Evaluating {printable(analysis.name, True, limit=200)}…")
        self.detail.query_one(TabbedContent).active = "evals"
        self._run_evaluators(analysis)

    @work(thread=True, exclusive=True, group="evals", exit_on_error=False)
    def _run_evaluators(self, analysis: TraceAnalysis) -> None:
        try:
            evaluation = evaluate_trace(analysis, self.routes, judge=self.judge, default_profile=self.profile)
        except Exception as exc:  # noqa: BLE001 - an evaluator bug must not take the UI down
            self.call_from_thread(self.detail.clear_evaluation, f"Evaluation failed: {type(exc).__name__}: {printable(exc)}")
            return
        self.call_from_thread(self.detail.show_evaluation, evaluation)

    @on(DetailPane.JumpToSpan)
    def _jump_to_span(self, event: DetailPane.JumpToSpan) -> None:
        self.reveal_span(event.span_id)

    def reveal_span(self, span_id: str) -> None:
        """Expand the step tree down to a span, select it and focus the tree."""
        node = self.step_tree.expand_path(span_id)
        if node is not None:
            self.step_tree.move_cursor(node)
            self.step_tree.scroll_to_node(node)
            self.step_tree.focus()

    def action_save_golden_route(self) -> None:
        analysis = self._selected()
        if analysis is None:
            return
        path = self.spec or self.save_dir / "orchtui-gate.toml"
        calls = [(call.name, call.args) for call in analysis.tool_calls if call.kind != "handoff"]
        try:
            append_golden_route(path, analysis.name, calls)
        except (OSError, ValueError) as exc:
            self.notify(f"Could not save the route: {exc}", severity="error")
            return
        self.routes = load_gate(path)
        self.notify(f"Route for {analysis.name} ({len(calls)} tool calls) saved to {path}", title="Golden route")

    def action_open_steps(self) -> None:
        """enter on a trace: its steps. Focus moves while the key is handled (not on a message that would arrive
        after the keys typed next), so `enter` `/` typed fast searches the steps, not the list; and the tree shows
        the trace under the list's cursor first, so `j j j enter j j` typed fast moves in that trace's steps."""
        if self.trace_list.current is not None:
            self._show_selected()
            self.screen.set_focus(self.step_tree)

    @on(StepTree.StepHighlighted)
    def _step_highlighted(self, event: StepTree.StepHighlighted) -> None:
        # The step under the tree's cursor now: a message the tree posted before it showed another trace names a
        # step that trace does not have.
        tree = self.step_tree
        self.detail.show(tree.analysis, tree.cursor_node.data if tree.cursor_node is not None else None)
        if self.step_tree.matches is not None:
            self._steps_title()

    def jump_to_trace(self, trace_id: str) -> None:
        if not self.trace_list.select_trace(trace_id):
            self.quick_filter, self.text_filter, self.route_filter = "all", "", None
            self.filter_input.value = ""
            self.request_rows()
            self.call_after_refresh(lambda: self.trace_list.select_trace(trace_id))
        self.trace_list.focus()

    # -- actions -----------------------------------------------------------------------------------------------------

    def _selected(self) -> TraceAnalysis | None:
        """The trace the cursor is on; when there is none, say so (every trace action starts here)."""
        current = self.trace_list.current
        if current is None:
            self.notify("No trace selected", severity="warning")
        return current

    def action_sources(self) -> None:
        """!: the sources and every read error (the status line only counts them)."""
        if not isinstance(self.screen, SourcesScreen):
            self.push_screen(SourcesScreen())

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_focus_pane(self, step: int) -> None:
        """tab / shift+tab. Focus moves now, not on a message after the keys typed next (`Widget.focus` defers
        it): `tab j` typed fast moves in the pane tab went to."""
        if self.detail.cycle_focus(step):  # the Evals findings are a stop inside the detail pane
            return
        panes = [self.trace_list, self.step_tree, self.query_one(TabbedContent).query_one("Tabs")]
        focused = self.focused
        current = 0
        if focused is not None:
            if focused is self.step_tree:
                current = 1
            elif self.detail in focused.ancestors_with_self:
                current = 2
        self.screen.set_focus(panes[(current + step) % len(panes)])

    # -- search inside the trace and plumbing ---------------------------------------------------------------------

    def action_search_steps(self) -> None:
        """`/` in the step tree: search the selected trace's steps (`/` elsewhere filters the trace list)."""
        self.step_search.display = True
        self.screen.set_focus(self.step_search)  # now: keys typed right after `/` are already on their way
        self.step_tree.expect_matches(lambda: self.step_search.value)  # `/text enter n`: n moves among the hits to come

    @on(Input.Changed, "#step-search")
    def _step_search_changed(self, event: Input.Changed) -> None:
        analysis, view = self.step_tree.analysis, self.step_tree.view
        query = event.value.strip()
        if analysis is None or view is None or not query:
            self.step_tree.set_matches(None if not query else [])
            self._steps_title()
            return
        self.step_tree.expect_matches(lambda: self.step_search.value)  # (again, after the query was emptied)
        self._search_steps(analysis, view, query)

    @work(thread=True, exclusive=True, group="step-search", exit_on_error=False)
    def _search_steps(self, analysis: TraceAnalysis, view, query: str) -> None:
        matches = search_steps(view, analysis, query)  # every value of every span: off the event loop
        self.call_from_thread(self._apply_step_search, analysis, query, matches)

    def _apply_step_search(self, analysis: TraceAnalysis, query: str, matches: list[str]) -> None:
        if self.step_tree.analysis is not analysis or self.step_search.value.strip() != query:
            return  # the trace or the search moved on while this ran
        self.step_tree.set_matches(matches)
        self._steps_title()

    @on(Input.Submitted, "#step-search")
    def _step_search_submitted(self) -> None:
        if not self.step_search.value.strip():  # focus went back to the tree with the key (TextField)
            self._end_step_search()

    @on(StepTree.SearchEnded)
    def _end_step_search(self) -> None:
        with self.step_search.prevent(Input.Changed):
            self.step_search.value = ""
        self.step_search.display = False
        self.step_tree.set_matches(None)
        self._steps_title()
        if self.focused is self.step_search:  # esc in the field: back to the tree now, before the keys typed next
            self.screen.set_focus(self.step_tree)

    def action_toggle_plumbing(self) -> None:
        """z: hide or show the framework's plumbing steps (templates, parsers, routers, one-child chains)."""
        self.step_tree.set_hide_plumbing(not self.step_tree.hide_plumbing)
        query = self.step_search.value.strip()
        if self.step_tree.matches is not None and self.step_tree.analysis is not None and query:
            self._search_steps(self.step_tree.analysis, self.step_tree.view, query)
        self._steps_title()

    def _steps_title(self) -> None:
        """The steps pane's title says what the tree shows: plumbing hidden, the search and its matches."""
        tree = self.step_tree
        parts = ["steps"]
        if tree.hide_plumbing:
            hidden = tree.view.hidden if tree.view is not None else 0
            parts.append(f"{hidden} plumbing hidden (z)")
        if tree.matches is not None:
            query = printable(self.step_search.value.strip(), True, limit=SEARCH_TITLE_CHARS)
            position = tree.match_position()
            count = len(tree.matches)
            parts.append(f"/{query}: " + (f"{position}/{count}" if position else f"{count} match{'es' if count != 1 else ''}"))
        tree.border_title = Content(" · ".join(parts))

    def action_copy_value(self) -> None:
        self.detail.choose_value("Copy")

    def action_open_value(self) -> None:
        self.detail.choose_value("Open")

    def action_filter(self) -> None:
        field = self.filter_input
        field.display = True
        self.screen.set_focus(field)  # now, not after the queued keys: fast typing lands in the field

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value.strip()
        self.request_rows()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        field = self.filter_input  # focus went back to the list with the key (TextField)
        if not field.value:
            field.display = False

    def action_clear_filter(self) -> None:
        """esc: the step search when its field has focus; else the text filter, then the route filter (one layer
        per press, as k9s does)."""
        if self.focused is self.step_search:
            self._end_step_search()
            return
        field = self.filter_input
        if field.display or self.text_filter:
            field.value = ""
            field.display = False
            self.text_filter = ""
        elif self.route_filter is not None:
            self.route_filter = None
        else:
            return
        self.request_rows()
        self.screen.set_focus(self.trace_list)  # now: keys typed right after esc move in the list

    def action_cycle_filter(self) -> None:
        position = FILTER_ORDER.index(self.quick_filter) if self.quick_filter in FILTER_ORDER else -1
        self.set_quick_filter(FILTER_ORDER[(position + 1) % len(FILTER_ORDER)])

    def set_quick_filter(self, name: str) -> None:
        self.quick_filter = name  # the status line shows the active filter; no toast to pile up
        self.request_rows()

    # -- routes and comparisons --------------------------------------------------------------------------------------

    def action_routes(self) -> None:
        self.push_screen(RoutesScreen(self.index.routes), self._route_chosen)

    def _route_chosen(self, choice: RouteFilter | None) -> None:
        if choice is None:
            return
        self.route_filter = choice
        self.request_rows()
        self.trace_list.focus()

    def action_mark(self) -> None:
        """m: mark the selected trace as the A side of `d` (m again on it clears the mark)."""
        current = self._selected()
        if current is None:
            return
        if self.marked_id == current.trace_id:
            self.marked_id = None
            self.notify("Mark cleared", timeout=3)
        else:
            self.marked_id = current.trace_id
            self.notify(f"Marked {current.name} {current.trace_id[:8]}: press d on another trace to compare", title="Compare", timeout=4)
        self.trace_list.marked = self.marked_id
        self.trace_list.refresh()
        self._update_status()

    def _marked_label(self) -> str | None:
        marked = self.index.get(self.marked_id) if self.marked_id is not None else None
        return f"{marked.name} {marked.trace_id[:8]}" if marked is not None else None

    def action_compare(self) -> None:
        """d: the selected trace against the marked one; unmarked (or on the marked one), against its golden
        route in the gate file."""
        current = self._selected()
        if current is None:
            return
        marked = self.index.get(self.marked_id) if self.marked_id is not None else None
        if marked is not None and marked.trace_id != current.trace_id:
            self._compare(marked, current)
            return
        route = route_for(current.name, self.routes) if self.routes else None
        if route is not None and route.has_golden_path:
            self._compare(route, current)
            return
        hint = "mark a trace with m, then press d on another" if marked is None else "select another trace than the marked one"
        if self.routes is None:
            hint += " (or load a gate file with --spec to compare with its golden route)"
        self.notify(hint[0].upper() + hint[1:], title="Compare", severity="warning")

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _compare(self, a: TraceAnalysis | Route, b: TraceAnalysis) -> None:
        comparison = compare_traces(a, b) if isinstance(a, TraceAnalysis) else a.compare(b).with_golden_kinds(self._runs_like(b))
        self.call_from_thread(self._show_comparison, comparison, a.trace_id if isinstance(a, TraceAnalysis) else None, b.trace_id)

    def _runs_like(self, analysis: TraceAnalysis) -> list[TraceAnalysis]:
        """Other traces of the same name (at most KIND_RUNS): the kinds they gave a golden route's steps name the
        steps the compared run skipped (a retriever is not a tool). Called on the compare worker."""
        return [run for run in self.index.rows() if run.name == analysis.name and run.trace_id != analysis.trace_id][:KIND_RUNS]

    def _show_comparison(self, comparison: Comparison, a_trace_id: str | None, b_trace_id: str) -> None:
        self.push_screen(CompareScreen(comparison, a_trace_id, b_trace_id), self._compare_step_chosen)

    def _compare_step_chosen(self, choice: StepChoice | None) -> None:
        if choice is None:
            return
        self.jump_to_trace(choice.trace_id)
        self.call_after_refresh(self._reveal_step, choice.trace_id, choice.span_id)

    def _reveal_step(self, trace_id: str, span_id: str) -> None:
        analysis = self.index.get(trace_id)
        if analysis is not None and (self.step_tree.analysis is None or self.step_tree.analysis.trace_id != trace_id):
            self._show_trace(analysis)
        self.reveal_span(span_id)

    def action_save_trace(self) -> None:
        current = self._selected()
        if current is None:
            return
        snapshot = self.index.store.snapshot(current.trace_id)
        if snapshot is None:
            return
        try:
            path = save_trace(list(snapshot.spans), self.save_dir)
        except OSError as exc:
            self.notify(f"Could not save: {exc}", severity="error")
            return
        self.notify(f"Saved {len(snapshot.spans)} spans to {path}", title="Trace saved", timeout=6)


def describe_sources(sources: list[Source]) -> str:
    """`file.jsonl`, `jaeger 127.0.0.1:16686 service=s` (a store by its short label, as the `!` screen names it),
    `file.jsonl +2 more` (the status line must keep room for the counts), `demo`; then the OTLP endpoints listening
    (`file.jsonl + otlp 127.0.0.1:4318 → spool …`)."""
    titles = [title for source in sources for title in source.titles]
    parts = [titles[0] if len(titles) == 1 else f"{titles[0]} +{len(titles) - 1} more"] if titles else []
    parts += [source.label for source in sources if not source.titles and source.label]
    return " + ".join(parts) or "in memory"


class _AppSink:
    """What the app's sources deliver to: spans through `deliver` (held while paused), errors and the traces a
    worker process read (orchtui/split_load.py) to the index."""

    def __init__(self, app: OrchApp) -> None:
        self.add = app.deliver
        self.add_errors = app.index.add_errors
        self.adopt = app.index.adopt


def binding_ids() -> set[str]:
    """Every binding id of the UI (the keymap's vocabulary), from the bindings of orchtui's widgets and screens."""
    from textual.dom import DOMNode

    ids: set[str] = set()
    pending = [DOMNode]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("tui."):
            for klass in cls.__mro__:
                ids.update(b.id for b in getattr(klass, "BINDINGS", ()) if isinstance(b, Binding) and b.id)
    return ids


def make_app(sources: list[Source] | None = None, *, max_spans: int | None = None, config: Config | None = None, **options) -> OrchApp:
    """The app as the CLI and the benchmarks build it: with the user's config file and environment (see
    orchtui/config.py) unless `config` is given; options passed here win over the config."""
    config = config if config is not None else load_config()
    options.setdefault("theme", config.theme)
    options.setdefault("keymap", config.keymap)
    options.setdefault("notices", config.problems)
    options.setdefault("profile", config.profile)
    max_spans = max_spans if max_spans is not None else config.max_spans
    return OrchApp(TraceIndex(SpanStore(max_spans=max_spans)), sources=sources, **options)
