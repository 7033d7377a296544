"""Files as sources: read once (`open`, `check`, …: files, directories, globs, with progress) or followed as they
grow (`tail`: orchtui.sources.follow)."""

from __future__ import annotations

from pathlib import Path

from parsers.read import iter_read_path
from parsers.result import ParseResult
from parsers.span import ReadError, Span

from ..analysing_sink import AnalysingSink
from ..bulk import bulk_load
from ..split_load import Worker, can_split, read_in_two, start_worker, stop_worker
from .base import FOLLOW, ONCE, Source, SpanSink, expand
from .follow import FileFollower


def _label(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1} more"


class FileSource(Source):
    """Files, directories and globs, each file streamed into the sink chunk by chunk (first traces early, one chunk
    of text in memory). `status.progress` says which file and how far; `report` what each file was."""

    kind = "files"
    mode = ONCE
    two_processes = False  # a headless command's big files are read on two cores (orchtui/split_load.py)

    def __init__(self, names: list[str]) -> None:
        super().__init__(_label(names), [Path(name).name for name in names])
        self.names = list(names)
        self._workers: dict[Path, Worker] = {}  # started before the app's threads (`start_workers`)

    def start_workers(self) -> None:
        """Fork now, while the process has one thread, the workers that will read the second part of each big
        file (orchtui/split_load.py): `orchtui open` calls this before the app starts its threads."""
        files, _ = expand(self.names)
        for path in files:
            size = path.stat().st_size if path.exists() else 0
            if path not in self._workers and (format_name := can_split(path, size)):
                self._workers[path] = start_worker(path, format_name, size)

    def run(self, sink: SpanSink) -> None:
        report = self.report
        files, missing = expand(self.names)
        report.unreadable.extend(missing)
        sink.add_errors(missing)
        # No collector passes over the heap being built, and none over it after: it is frozen (orchtui/bulk.py).
        try:
            with bulk_load():
                for path in files:
                    if self.stopping:
                        return
                    self._read(path, sink, several=len(files) > 1)
        finally:
            for worker in self._workers.values():  # files not reached (stopped): their workers are not wanted
                stop_worker(worker)
            self._workers.clear()

    def _read(self, path: Path, sink: SpanSink, several: bool) -> None:
        report, status = self.report, self.status
        name = str(path)
        progress_name = f"{path.name} " if several else ""  # one file: the source's label already names it
        size = path.stat().st_size if path.exists() else 0
        report.spans[name] = 0
        report.files[name] = None
        errors: list[ReadError] = []

        def take(result: ParseResult | None, consumed: int) -> None:
            status.progress = f"loading {progress_name}{100 * consumed // max(1, size)}%"
            if result is None:  # only the count moved (the file's other part is read by a worker)
                return
            if result.format is not None:
                report.files[name] = result.format
            report.spans[name] += len(result.spans)
            errors.extend(result.errors)
            if result.spans:
                sink.add(result.spans)
                status.spans += len(result.spans)
            sink.add_errors(result.errors, result.skipped)

        worker = self._workers.pop(path, None)
        if worker is not None and not hasattr(sink, "adopt"):  # a sink that cannot take the worker's traces
            stop_worker(worker)
            worker = None
        if worker is None and self.two_processes and isinstance(sink, AnalysingSink):
            format_name = can_split(path, size)
            worker = start_worker(path, format_name, size, sink.on_analysed) if format_name else None
        if worker is not None:
            adopted = read_in_two(path, size, sink, take, worker, lambda: self.stopping)  # type: ignore[arg-type]
            report.spans[name] += adopted
            status.spans += adopted
        else:
            for result, consumed in iter_read_path(path):
                take(result, consumed)
                if self.stopping:
                    break
        if report.files[name] is None and report.spans[name] == 0:
            report.unreadable.extend(errors or [ReadError(name, "nothing readable in this file")])


def start_file_workers(sources: list[Source]) -> None:
    """Before an app starts its threads: fork the workers that will read the second part of each big file of the
    file sources among `sources` (`orchtui open`)."""
    for source in sources:
        if isinstance(source, FileSource):
            source.start_workers()


class FollowSource(Source):
    """Files, directories and globs followed live: appends, truncation, rotation, files created later (see
    orchtui.sources.follow). `follower.files` is what the `!` screen lists."""

    kind = "follow"
    mode = FOLLOW

    def __init__(self, names: list[str], *, from_end: bool = False) -> None:
        super().__init__(_label(names), [Path(name).name for name in names])
        self.names = list(names)
        self.follower = FileFollower(self.names, self._deliver, self._report, from_end=from_end)
        self._sink: SpanSink | None = None

    def _deliver(self, spans: list[Span]) -> None:
        self._sink.add(spans)  # type: ignore[union-attr]
        self.status.spans += len(spans)

    def _report(self, errors: list[ReadError], skipped: dict[str, int]) -> None:
        self._sink.add_errors(errors, skipped)  # type: ignore[union-attr]

    def open(self, sink: SpanSink) -> None:
        self._sink = sink
        self.follower.open()

    def run(self, sink: SpanSink) -> None:
        self.follower.run()

    def _halt(self) -> None:
        self.follower.stop()
