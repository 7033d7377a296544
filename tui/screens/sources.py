"""`!`: where spans come from and what could not be read.

The status line only counts read errors; this screen lists each one with its source (`file:line`, `file[frame]`
or the OTLP request) and its message, escaped, and shows the selected one in full in a pane that scrolls by
keyboard. Above it, the sources: saved files loaded, files followed (line reached, bytes read, caught up or not,
not there yet, unreadable), trace stores read once (`open URL`) or polled (`tail URL`: polling, idle or failing with
the last error, the interval, spans received, the last poll), the OTLP endpoint with its request counts, the spool
files written, and the totals:
traces, spans, read errors, records skipped (metric lines, truncations) and traces evicted. While nothing has
arrived it says what it is waiting on, not an empty list.

Describing the sources stats files, so it runs on a worker twice a second; the error list reads the store's
append-only list by reference and paints only its visible lines.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from orchtui.demo import DemoSource
from orchtui.formatting import format_count
from orchtui.remote.base import short_label
from orchtui.remote.poller import FAILING, IDLE, POLLING
from orchtui.sources.base import ONCE
from orchtui.sources.files import FileSource, FollowSource
from orchtui.sources.receiver import ReceiverSource
from orchtui.sources.stores import StoreSource

from ..render import safe
from ..widgets.error_list import ErrorList

if TYPE_CHECKING:
    from ..app import OrchApp

REFRESH_SECONDS = 0.5
MAX_FILES = 50  # followed files listed (a glob can match thousands); the rest are counted
DETAIL_CHARS = 20_000  # of the selected error's message, as the detail pane clips values
LABEL = 11  # width of the first column of the sources panel


class SourcesScreen(Screen[None]):
    DEFAULT_CSS = """
    SourcesScreen #sources-box { height: auto; max-height: 45%; border: round $accent; padding: 0 1; }
    SourcesScreen #sources { text-wrap: nowrap; text-overflow: ellipsis; }
    SourcesScreen #errors-box { height: 1fr; border: round $accent; }
    SourcesScreen ErrorList { height: 1fr; }
    SourcesScreen #error-detail { height: 6; border-top: solid $primary 50%; padding: 0 1; }
    SourcesScreen #error-detail:focus { border-top: solid $accent; }
    """
    BINDINGS = [
        Binding("escape,q,exclamation_mark", "close", "Back", id="sources.close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown_error: int | None = -1

    @property
    def orch(self) -> "OrchApp":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="sources-box", can_focus=False):
            yield Static(id="sources")
        with Vertical(id="errors-box"):
            yield ErrorList(self.orch.index.errors, id="errors")
            with VerticalScroll(id="error-detail"):
                yield Static(id="error-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sources-box").border_title = "sources (esc: back)"
        self.errors = self.query_one(ErrorList)
        self.errors.focus()
        self._refresh()
        self.set_interval(REFRESH_SECONDS, self._refresh)

    def _refresh(self) -> None:
        self.errors.update_count()
        counts = self.orch.index.counts()
        title = f"read errors ({format_count(counts['errors'])}: tab to read one in full)" if counts["errors"] else "read errors"
        self.query_one("#errors-box").border_title = title
        self.errors.set_empty(empty_state(self.orch, counts))
        self._describe()

    @work(thread=True, exclusive=True, group="sources", exit_on_error=False)
    def _describe(self) -> None:
        text = describe(self.orch)
        self.app.call_from_thread(self._show_sources, text)

    def _show_sources(self, text: Text) -> None:
        if self.is_attached:
            self.query_one("#sources", Static).update(text)

    @on(ErrorList.Highlighted)
    def _error_highlighted(self, event: ErrorList.Highlighted) -> None:
        detail = self.query_one("#error-text", Static)
        error = self.errors.current
        if error is None:
            detail.update(Text("The selected read error is shown here in full.", style="dim"))
            return
        text = Text()
        text.append(safe(error.source, True), style="bold")
        text.append("\n")
        text.append(safe(error.message, limit=DETAIL_CHARS))
        detail.update(text)
        self.query_one("#error-detail").scroll_home(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)


def empty_state(app: "OrchApp", counts: dict[str, int]) -> Text:
    """What the error list says with no errors: waiting on the sources while nothing arrived, else all clear."""
    if counts["spans"] == 0 and app.live:
        return Text(f" Waiting for spans on {safe(app.sources_label, True)}… (no read errors)")
    if counts["spans"] == 0 and not app.load_finished:
        return Text(f" Loading {safe(app.sources_label, True)}… (no read errors yet)")
    return Text(" No read errors.")


def describe(app: "OrchApp") -> Text:
    """The sources panel: one line per source, then the totals. Runs on a worker (it stats files)."""
    text = Text(no_wrap=True, overflow="ellipsis")

    def row(label: str, value: str | Text, style: str = "") -> None:
        if text.plain:
            text.append("\n")
        text.append(label.ljust(LABEL), style="bold")
        text.append(value if isinstance(value, Text) else Text(value, style=style))

    sources = app.sources
    if any(isinstance(source, DemoSource) for source in sources):
        row("demo", "the bundled scenarios, played live")
    for source in sources:
        done = source.status.finished
        if isinstance(source, FileSource):
            state = "loaded" if done else (source.status.progress or "loading")
            for path in source.names:
                row("file", f"{safe(path, True)}  {safe(state, True)}")
        elif isinstance(source, StoreSource) and source.mode == ONCE:
            row("store", f"{safe(source.short, True)}  {'read' if done else 'reading'} once (open)")
    _followed(app, row)
    _stores(app, row)
    _receiver(app, row)
    if not text.plain:
        row("source", safe(app.sources_label, True))
    counts = app.index.counts()
    store = app.index.store
    totals = f"{_plural(counts['traces'], 'trace')} · {_plural(counts['spans'], 'span')} · {_plural(counts['errors'], 'read error')}"
    if store.evicted_traces:
        totals += f" · {_plural(store.evicted_traces, 'trace')} evicted ({_plural(store.evicted_spans, 'span')})"
    row("totals", totals, "bold red" if counts["errors"] else "")
    skipped = dict(store.skipped)
    if skipped:
        row("skipped", " · ".join(f"{format_count(count)} {safe(what, True)}" for what, count in sorted(skipped.items())), "yellow")
    if app.paused:
        row("paused", "following is paused: spans are queued (p resumes)", "bold yellow")
    return text


def _followed(app: "OrchApp", row) -> None:
    for source in app.sources:
        if isinstance(source, FollowSource):
            _follower(source.follower, row)


def _follower(follower, row) -> None:
    files = list(follower.files.items())
    for path, followed in files[:MAX_FILES]:
        row("following", Text.assemble((safe(followed.where(), True), ""), "  ", _file_state(path, followed.tracked.offset)))
    if len(files) > MAX_FILES:
        row("", f"… and {len(files) - MAX_FILES:,} more files")
    if not files:  # a directory or pattern nothing matches yet (a missing file is listed above)
        for target in follower.targets:
            row("following", Text.assemble((safe(target, True), ""), "  ", ("no file yet: read when one appears", "yellow")))


def _stores(app: "OrchApp", row) -> None:
    """Each polled store (`tail URL`): its short label, then its state, interval, spans and last poll, and while it
    fails, the last error (in full in the read errors below: said once there)."""
    for store in [source.polled for source in app.sources if isinstance(source, StoreSource) and source.polled is not None]:
        state = store.state
        row("store", Text(safe(short_label(store.label), True), style="bold"))
        line = Text()
        if state == POLLING:
            line.append(f"polling ({time.monotonic() - (store.polling_since or time.monotonic()):.1f} s)", style="cyan")
        elif state == IDLE:
            line.append("idle", style="green")
        elif state == FAILING:
            line.append("failing", style="bold red")
        else:
            line.append(state, style="yellow")
        if store.interval is not None:
            line.append(f" · every {_seconds(store.interval)}")
        if store.source is not None:
            line.append(f" · {_plural(store.spans, 'span')} · ")
            line.append(f"last poll {_clock(store.last_poll)}" if store.last_poll is not None else "no poll yet")
        row("", line)
        if state == FAILING and store.problem is not None:
            since = f"since {_clock(store.failing_since)}: " if store.failing_since is not None else ""
            row("", since + safe(store.problem, True, limit=500), "red")


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds))


def _seconds(seconds: float) -> str:
    """An interval as given in a URL: 250 ms, 2 s, 5 min, 1 h."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    for size, unit in ((3600, "h"), (60, "min")):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _file_state(path: Path, offset: int) -> Text:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Text("no file yet: read when it appears" if not offset else f"gone; {_bytes(offset)} read", style="yellow")
    except OSError as exc:
        return Text(f"cannot stat ({exc.strerror or exc}); {_bytes(offset)} read", style="bold red")
    if not os.access(path, os.R_OK):
        return Text(f"unreadable (permission); {_bytes(offset)} read", style="bold red")
    if size > offset:
        return Text(f"{_bytes(offset)} read, {_bytes(size - offset)} to go", style="cyan")
    return Text(f"{_bytes(offset)} read, caught up", style="green")


def _receiver(app: "OrchApp", row) -> None:
    for source in app.sources:
        if isinstance(source, ReceiverSource):
            _endpoints(source, row)


def _endpoints(source: ReceiverSource, row) -> None:
    from orchtui.exposure import exposure_warning

    listening = []
    for listener in source.listeners:
        label, receiver = listener.name, listener.endpoint
        if receiver is None:
            if listener.failed:
                row(label, f"not listening on {safe(listener.host, True)}:{listener.port} (see the error shown at start)", "bold red")
            else:
                row(label, f"starting on {safe(listener.host, True)}:{listener.port}", "yellow")
            continue
        token = "token required" if receiver.token else "no token"
        line = Text(f"{safe(receiver.endpoint, True)}  {token}")
        if exposure_warning(receiver.host, receiver.token) is not None:
            line.append("  open to the network", style="bold red")
        row(label, line)
        listening.append(receiver)
    if not listening:
        return
    receiver = listening[0]  # both endpoints share one ingest: one set of counts, one spool
    stats = receiver.stats
    counts = f"{_plural(stats.requests, 'request')} · {_plural(stats.spans, 'span')} accepted"
    problems = [(stats.rejected, "request", "refused"), (stats.rejected_spans, "span", "rejected"), (stats.spool_errors, "spool write", "failed"), (stats.refused, "connection", "refused")]
    counts += "".join(f" · {_plural(count, noun)} {what}" for count, noun, what in problems if count)
    row("", counts)
    spool = receiver.spool
    if spool is None:
        row("spool", "none: nothing is written to disk", "yellow")
        return
    for path in (spool.json_path, spool.proto_path):
        size = _size(path)
        row("spool", f"{safe(path, True)}  {_bytes(size) if size is not None else 'not written yet'}")
    for repair in spool.repairs:
        row("", f"repaired on open: {safe(repair, True)}", "yellow")
    if spool.cap is not None:
        pruned = f"; {_plural(spool.pruned_files, 'old file')} deleted ({_bytes(spool.pruned_bytes)})" if spool.pruned_files else ""
        row("", f"capped at {safe(spool.cap, True)}{pruned}", "yellow" if pruned else "")


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _bytes(count: int) -> str:
    if count < 1024:
        return f"{count:,} B"
    size, unit = count / 1024, "KB"
    for bigger in ("MB", "GB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{size:.1f} {unit}"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
