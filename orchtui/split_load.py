"""A big trace file read on two cores: its second part by a forked worker process.

`check`, `routes`, `diff` and `open` spend ~36 µs a span parsing, assembling and analysing, on one core. A plain file whose
lines stand alone (OTLP/JSON lines) can be cut at a line start and each part read on its own
(parsers/read.py `iter_read_range`), so a forked child reads, assembles and analyses the second part while this
process reads the first. A gzip file cannot be entered in the middle: both processes decompress all of it and
cut its text at the same line start (parsers/gzip_seek.py `GzipPart`), and this process then decodes the rest
for seek points, to read the child's payloads back. The child sends each trace down a pipe as soon as it is complete and analysed, and
forgets it, so it never holds its whole part; a thread here unpickles them as they come (the pipe would otherwise
fill and stop the child: its buffer is enlarged to hold a few batches, `_roomy_pipe`), and they are adopted once
this process has read its own part and the child has said its last word. Pickling costs ~6 µs a span to write
and ~3 µs to read back (measured on the ingest benchmark's traces), so the child's share is the smaller.

The child's spans have already left their payloads in the file (parsers/payloads.py): what crosses the pipe is
the hot fields and the analyses. A trace with spans in both parts is merged here and analysed again with all of
them (orchtui/analysing_sink.py `adopt`); every other trace keeps the child's analysis. The result is the same as
one process reading the whole file (tests/orchtui/test_split_load.py compares them).

Only where it is safe and pays: no thread yet to fork under (a headless command when it reaches the file;
`orchtui open` before the app starts, orchtui/sources/files.py `start_file_workers`), a file of at least
SPLIT_MIN_BYTES, more than one CPU, Linux, and `ORCHTUI_JOBS` not set to 1. The app's live index adopts the
child's traces as the headless sink does (orchtui/live.py `adopt`). If the child fails in any way (killed, out of
memory, a pipe cut short), this process reads the second part itself: the same result, later; why goes into
`fallbacks` (the child's exception when it could send it), which the tests hold empty.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from parsers import gzip_seek
from parsers.read import (
    iter_read_gzip_side,
    iter_read_range,
    line_start_after,
    streamable_format,
)
from parsers.result import ParseResult
from parsers.span import Span

from .analysing_sink import AnalysingSink, AnalysisHook, AssembledTrace, evict_payloads
from .store import SpanStore

SPLIT_MIN_BYTES = 32 << 20  # below this the fork, the line count and the pickling are not worth it
CHILD_SHARE = 0.45  # of the file the child reads: it also pickles what it read, which this process unpickles
BATCH_SPANS = 2048  # spans a pickle (~450 KB): a pickler's memo of what it wrote stays small, two fit in the pipe
PIPE_BYTES = 1 << 20  # the pipe's buffer, asked for: Linux's default 64 KiB stalled the child (`_roomy_pipe`)
JOBS_ENV = "ORCHTUI_JOBS"  # 1: one process (the default uses two when there are two CPUs)

# Why a child's part was read again here, newest last (its exception, or how it ended): the result is the same, so
# nothing else shows it; the tests read it, so a bug in the child cannot hide behind the fallback.
fallbacks: list[str] = []

# A result read (None: no new result, the count moved) and the bytes of the file read so far, by both processes.
Progress = Callable[[ParseResult | None, int], None]
WAIT_TICK = 0.2  # seconds between progress updates while this process waits for the child's last traces


class Adopter(Protocol):
    """A sink that takes traces assembled elsewhere: the headless AnalysingSink, the app's TraceIndex."""

    def adopt(self, traces: list[AssembledTrace]) -> object: ...


def can_split(path: Path, size: int) -> str | None:
    """The file's format when reading it in two processes is safe and pays, else None. Linux only: macOS
    frameworks are not safe in a forked child (Python itself spawns there), and Windows cannot fork."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return None
    if os.environ.get(JOBS_ENV, "").strip() == "1" or len(os.sched_getaffinity(0)) < 2:
        return None
    text = max(size, gzip_seek.text_size(path)) if gzip_seek.is_gzip(path) else size  # a .gz: by its text
    return streamable_format(path) if text >= SPLIT_MIN_BYTES else None


@dataclass(slots=True)
class Worker:
    """A forked child reading the part of a file from `split` on (started by `start_worker`). In a gzip file
    (`compressed`) `split` is a compressed offset near which both processes cut the text (parsers/gzip_seek.py
    `GzipPart`), each decompressing the whole file."""

    pid: int
    read_end: int
    split: int
    format_name: str
    compressed: bool = False


def _side(path: Path, format_name: str, split: int, size: int, *, compressed: bool, first: bool) -> Iterator[tuple[ParseResult, int]]:
    """The (result, bytes consumed) of one side of the file's cut."""
    if compressed:
        return iter_read_gzip_side(path, format_name, split, first=first)
    return iter_read_range(path, format_name, *((0, split) if first else (split, size)))


def start_worker(path: Path, format_name: str, size: int, on_analysed: AnalysisHook | None = None) -> Worker:
    """Fork the child that reads the second part of `path`: now, while this process has one thread (`orchtui
    open` starts its workers before the app starts its threads; a headless command when it reaches the file).
    `on_analysed`: the sink's hook, run in the child too, what it made sent with each trace (`eval`)."""
    compressed = gzip_seek.is_gzip(path)
    split = int(size * (1 - CHILD_SHARE)) if compressed else line_start_after(path, int(size * (1 - CHILD_SHARE)))
    read_end, write_end = _roomy_pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(_side(path, format_name, split, size, compressed=compressed, first=False), format_name, write_end, on_analysed)
    os.close(write_end)
    return Worker(pid, read_end, split, format_name, compressed)


def _roomy_pipe() -> tuple[int, int]:
    """A pipe whose buffer holds a few of the child's batches. The thread that drains it here needs the GIL,
    which this process's reading holds but for a switch interval at a time: with Linux's default 64 KiB the
    child spent 0.65 s of a 100k-span file's 2.4 s blocked on full writes (2.78 s against 3.53 s for the whole
    `check --json`). Linux caps the size (/proc/sys/fs/pipe-max-size, 1 MiB by default) and refuses it to a user
    over their pipe quota: then the default buffer serves, slower."""
    import fcntl  # here: Windows has no fcntl module, and only Linux forks a worker (`can_split`)

    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError, AttributeError):  # EPERM over the quota; no F_SETPIPE_SZ before Linux 2.6.35
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return read_end, write_end


def stop_worker(worker: Worker) -> None:
    """Stop a worker whose part is not wanted (the source stopped before it read the file)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(worker.pid, signal.SIGKILL)
    os.waitpid(worker.pid, 0)
    os.close(worker.read_end)


def read_in_two(path: Path, size: int, sink: Adopter, progress: Progress, worker: Worker, stopping: Callable[[], bool]) -> int:
    """Read `path` into `sink`: its first part here, each result through `progress` (which hands it to the
    sink), its second from `worker`, whose traces are adopted and its read errors handed to `progress` last.
    The bytes passed to `progress` count both processes' reading, so a viewer's percentage moves through the
    whole file, also while this process waits for the child (below 100% until the child's traces are adopted).
    The number of spans adopted (not in any result)."""
    split, format_name = worker.split, worker.format_name
    handed = _Handed()
    collector = threading.Thread(target=handed.receive, args=(worker.read_end,), name="orchtui-split", daemon=True)
    collector.start()
    finished = False
    try:
        for result, consumed in _side(path, format_name, split, size, compressed=worker.compressed, first=True):
            progress(result, min(size - 1, consumed + handed.consumed))
            if stopping():
                return 0
        while True:  # until the child's part is all here: its progress shown, a stop heard
            collector.join(WAIT_TICK)
            progress(None, min(size - 1, split + handed.consumed))
            if stopping():
                return 0
            if not collector.is_alive():
                break
        finished = True
    finally:
        if not finished:  # stopped or interrupted: the child's part is not wanted any more
            os.kill(worker.pid, signal.SIGKILL)
        _, status = os.waitpid(worker.pid, 0)
        collector.join()
        os.close(worker.read_end)
    if status != 0 or handed.errors is None:  # the child did not finish: read its part here
        fallbacks.append(handed.failure or f"the worker ended with wait status {status} before its last word")
        del fallbacks[:-16]
        for result, consumed in _side(path, format_name, split, size, compressed=worker.compressed, first=False):
            progress(result, split + consumed)
            if stopping():
                break
        return 0
    sink.adopt(handed.traces)
    progress(handed.errors, size)
    return sum(len(trace.spans) for trace in handed.traces)


class _Handed:
    """What the child handed over, unpickled as it arrives (the read releases the GIL, and the pipe never fills
    to stop the child), kept aside until it is all there: nothing is adopted from a child that did not finish."""

    def __init__(self) -> None:
        self.traces: list[AssembledTrace] = []
        self.errors: ParseResult | None = None  # the child's last word: set only when everything came
        self.consumed = 0  # bytes of its part the child had read when it sent its latest batch
        self.failure: str | None = None  # what the child said failed, when it could say it

    def receive(self, read_end: int) -> None:
        try:
            with os.fdopen(read_end, "rb", closefd=False) as pipe:
                while True:
                    batch = pickle.load(pipe)  # noqa: S301 - our own child's, through a pipe only it holds
                    if isinstance(batch, ParseResult):
                        self.errors = batch
                        return
                    if isinstance(batch, str):  # the child failed: why
                        self.failure = batch
                        return
                    consumed, traces = batch
                    self.traces.extend(traces)
                    self.consumed = consumed
        except Exception:  # noqa: BLE001 - a child that died mid-way: its part is read here instead
            self.traces = []


class _HandingSink(AnalysingSink):
    """The child's sink: each trace, once complete and analysed, goes down the pipe and out of this process."""

    def __init__(self, pipe: BinaryIO, on_analysed: AnalysisHook | None = None) -> None:
        super().__init__(SpanStore(), on_analysed=on_analysed)
        self.pipe = pipe
        self.outbox: list[AssembledTrace] = []
        self.outbox_spans = 0
        self.consumed = 0  # bytes of the part read so far: sent with each batch, for the parent's progress

    def add(self, spans: list[Span]) -> set[str]:
        changed = super().add(spans)
        for trace_id in {span.trace_id for span in spans if span.parent_id is None and span.end_ns is not None}:
            self._hand_on(trace_id)
        return changed

    def finish(self, format_name: str) -> None:
        """The traces that never completed, analysed as `analyses` would, then the read errors, last."""
        for analysis in self.analyzer.all():
            self._tell(analysis)
            evict_payloads(analysis)
        for trace_id in self.store.trace_ids():
            self._hand_on(trace_id)
        self._send()
        errors = ParseResult(format=format_name, errors=self.store.errors, skipped=self.store.skipped)
        pickle.dump(errors, self.pipe, protocol=pickle.HIGHEST_PROTOCOL)

    def _hand_on(self, trace_id: str) -> None:
        snapshot = self.store.snapshot(trace_id)
        if snapshot is None:
            return
        analysis = self.analyzer.get(trace_id)  # cached: analysed when its root came (or by `finish`)
        made = self.on_analysed.hand_over(analysis) if self.on_analysed is not None and analysis is not None else None
        self.outbox.append(AssembledTrace(trace_id, snapshot.by_id or {}, snapshot.duplicates, analysis, made))
        self.outbox_spans += len(snapshot.by_id or ())
        self.store.discard(trace_id)  # a span of it arriving later starts a new record, merged by the parent
        self.analyzer.forget(trace_id)
        if self.outbox_spans >= BATCH_SPANS:
            self._send()

    def _send(self) -> None:
        # In batches: a pickler remembers every object it wrote (to write shared ones once), and one pickle of a
        # whole part held a memo bigger than the part.
        if self.outbox:
            pickle.dump((self.consumed, self.outbox), self.pipe, protocol=pickle.HIGHEST_PROTOCOL)
            self.outbox = []
            self.outbox_spans = 0


def _child(side: Iterator[tuple[ParseResult, int]], format_name: str, write_end: int, on_analysed: AnalysisHook | None) -> None:
    """Read the file's second side and hand every trace to the parent; then exit at once (no atexit handlers, no
    flushing of buffers inherited from the parent)."""
    code = 70
    try:
        with os.fdopen(write_end, "wb") as pipe:
            sink = _HandingSink(pipe, on_analysed)
            try:
                for result, consumed in side:
                    sink.consumed = consumed
                    if result.spans:
                        sink.add(result.spans)
                    sink.add_errors(result.errors, result.skipped)
                sink.finish(format_name)
            except Exception as exc:  # the parent reads this part itself; it is told why (`fallbacks`)
                pickle.dump(f"the worker failed: {type(exc).__name__}: {exc}"[:500], pipe)
                raise
        code = 0
    except BaseException:  # noqa: BLE001, S110 - any failure: the parent reads this part itself
        pass
    finally:
        os._exit(code)
