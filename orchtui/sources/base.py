"""A source of spans: the one interface behind everything orchtui reads from.

Saved files read once, files followed as they grow, the OTLP/HTTP and OTLP/gRPC receivers, trace stores
(`phoenix://`, `clickhouse://`, `jaeger://`, `tempo://`) read once or polled, and the demo are each a `Source`:

- `label`: what it is, safe to show (a store URL without credentials or query);
- `mode`: ONCE (read to the end, then done: `open`, `check`, `eval`, `routes`, `diff`) or FOLLOW (live until
  stopped: `tail`, `serve`, the demo);
- `open(sink)` then `run(sink)`: start up (bind a port, read what a followed file holds), then deliver span
  batches (`sink.add`) and read errors (`sink.add_errors`) until the end (ONCE) or until `stop()` (FOLLOW);
- `status`: one `SourceStatus` it writes and the UI (status line, `!` screen) and the headless driver read: its
  state, its progress, its problem and warning, the spans it delivered, and notices to show once;
- `report`: what a ONCE source read, per input (formats, span counts, inputs that could not be read at all).

`start(sink)` runs a source on a thread of its own; `drive(sink)` runs it on the calling thread (the headless
once-mode driver, orchtui.loading.load_sources). Either way nothing a source does escapes as an exception: a
failure becomes its status (FAILED, with the problem) and a read error naming it, and the other sources go on.

`sources_for` (orchtui.sources.factory) turns command-line names (paths or URLs) and options into sources.
"""

from __future__ import annotations

import contextlib
import glob
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from parsers.span import ReadError, Span

from .records import describe_failure

ONCE = "once"
FOLLOW = "follow"

# SourceStatus.state
STARTING = "starting"  # opening: binding, first scan, making a client
RUNNING = "running"  # reading (ONCE) or live (FOLLOW)
DONE = "done"  # a ONCE source read everything (or a FOLLOW one had nothing left to do)
FAILED = "failed"  # `open` or `run` raised: `problem` says why
STOPPED = "stopped"  # ended by stop()


class SpanSink(Protocol):
    """Where sources deliver: the store itself (`check`) or the live index in front of it (the TUI)."""

    def add(self, spans: list[Span]) -> object: ...

    def add_errors(self, errors: list[ReadError], skipped: dict[str, int] | None = None) -> None: ...


@dataclass(slots=True)
class LoadReport:
    """What loading found: per-input formats and span counts, and inputs that could not be read at all."""

    files: dict[str, str | None] = field(default_factory=dict)  # input -> format name (None: unreadable)
    spans: dict[str, int] = field(default_factory=dict)
    unreadable: list[ReadError] = field(default_factory=list)

    def merge(self, other: "LoadReport") -> None:
        self.files.update(other.files)
        self.spans.update(other.spans)
        self.unreadable.extend(other.unreadable)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a source says once, when it happens (cannot listen, open to the network, spool pruned)."""

    title: str
    message: str
    severity: str = "information"  # information | warning | error
    timeout: float | None = None


class SourceStatus:
    """What a source says about itself. Written by the source's thread, read by others: every field is replaced
    whole, so a reader sees the old value or the new one."""

    def __init__(self) -> None:
        self.state = STARTING
        self.progress: str | None = None  # e.g. `loading spans.jsonl 42%`, while a ONCE source reads
        self.problem: str | None = None  # why it failed
        self.warning: str | None = None  # a standing warning (an endpoint open to the network without a token)
        self.spans = 0  # spans delivered
        self.listener: Callable[[Notice], object] | None = None  # set by a UI before start: gets notices at once
        self.notices: deque[Notice] = deque(maxlen=100)  # kept when nobody listens (headless)

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED, STOPPED)

    def tell(self, notice: Notice) -> None:
        listener = self.listener
        if listener is None:
            self.notices.append(notice)
            return
        try:
            listener(notice)
        except Exception:  # noqa: BLE001 - a UI that cannot show it now must not stop the source
            self.notices.append(notice)


class Source:
    """The interface (see the module docstring). Subclasses set `kind` and `mode`, and implement `run` (and `open`
    when starting up takes work, `_halt` when `run` waits on something other than `stopping`)."""

    kind = "source"
    mode = ONCE

    def __init__(self, label: str, titles: list[str] | None = None) -> None:
        self.label = label
        self.titles = list(titles or [])  # how the status line names what this reads, one per name given
        self.status = SourceStatus()
        self.report = LoadReport()
        self._stopping = threading.Event()
        self._opened = threading.Event()  # set once `open` returned, failed or was skipped (see wait_open)
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r} {self.status.state}>"

    # -- what a source implements ----------------------------------------------------------------------------------

    def open(self, sink: SpanSink) -> None:
        """Start up (the state is STARTING meanwhile)."""

    def run(self, sink: SpanSink) -> None:
        """Deliver to `sink`; return at the end (ONCE) or once `stopping` (FOLLOW)."""
        raise NotImplementedError

    def _halt(self) -> None:
        """Make `run` return soon, when it waits on more than `stopping` (called by `stop`, on another thread)."""

    # -- running ---------------------------------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self.mode == FOLLOW

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """For FOLLOW sources whose work runs on threads of their own: wait here until `stop()`."""
        return self._stopping.wait(timeout)

    def wait_open(self, timeout: float | None = None) -> bool:
        """Wait until `drive` has opened the source (the state is RUNNING), or it failed (FAILED) or was stopped
        before it opened: for a caller that says what a started source opened (`orchtui serve`: where it listens)."""
        return self._opened.wait(timeout)

    def start(self, sink: SpanSink, on_end: Callable[["Source"], object] | None = None) -> None:
        """Run on a thread of its own; `on_end(source)` is called on that thread when `run` returned or failed."""
        self._thread = threading.Thread(target=self.drive, args=(sink, on_end), name=f"orchtui-source-{self.kind}", daemon=True)
        self._thread.start()

    def drive(self, sink: SpanSink, on_end: Callable[["Source"], object] | None = None) -> None:
        """Open and run on the calling thread. Never raises: a failure is the source's status and a read error."""
        status = self.status
        try:
            if not self.stopping:
                self.open(sink)
                status.state = RUNNING
                self._opened.set()
                self.run(sink)
        except Exception as exc:  # noqa: BLE001 - one source costs nothing else
            message = f"stopped: {describe_failure(exc)}"
            status.problem, status.state = message, FAILED
            error = ReadError(self.label, message)
            self.report.unreadable.append(error)
            with contextlib.suppress(Exception):
                sink.add_errors([error])
        else:
            status.state = STOPPED if self.stopping else DONE
        finally:
            status.progress = None
            self._opened.set()
            if on_end is not None:
                with contextlib.suppress(Exception):
                    on_end(self)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the source to end and wait (up to `timeout`) for its thread; safe to call more than once, before
        `start`, or from the source's own thread."""
        self._stopping.set()
        with contextlib.suppress(Exception):
            self._halt()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Its thread (from `start`) still runs."""
        return self._thread is not None and self._thread.is_alive()


def expand(paths: list[str]) -> tuple[list[Path], list[ReadError]]:
    """Files named by `paths`: files as given, directories recursively (sorted), globs expanded."""
    files: list[Path] = []
    missing: list[ReadError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        elif path.exists():
            files.append(path)
        elif any(ch in raw for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(raw, recursive=True) if Path(p).is_file())
            if matches:
                files.extend(matches)
            else:
                missing.append(ReadError(raw, "no file matches this pattern"))
        else:
            missing.append(ReadError(raw, "no such file or directory"))
    return files, missing
