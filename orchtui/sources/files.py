"""Files as sources: read once (`open`, `check`, …: files, directories, globs, with progress) or followed as they
grow (`tail`: orchtui.sources.follow)."""

from __future__ import annotations

from pathlib import Path

from parsers.read import iter_read_path
from parsers.result import ParseResult
from parsers.span import ReadError, Span

from ..analysing_sink import AnalysingSink
from ..bulk import bulk_load
from ..split_load import can_split, read_in_two
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

    def run(self, sink: SpanSink) -> None:
        report = self.report
        files, missing = expand(self.names)
        report.unreadable.extend(missing)
        sink.add_errors(missing)
        # No collector passes over the heap being built (orchtui/bulk.py); a headless command freezes it after.
        with bulk_load(freeze=False):
            for path in files:
                if self.stopping:
                    return
                self._read(path, sink)

    def _read(self, path: Path, sink: SpanSink) -> None:
        report, status = self.report, self.status
        name = str(path)
        size = path.stat().st_size if path.exists() else 0
        report.spans[name] = 0
        report.files[name] = None
        errors: list[ReadError] = []

        def take(result: ParseResult, consumed: int) -> None:
            if result.format is not None:
                report.files[name] = result.format
            report.spans[name] += len(result.spans)
            errors.extend(result.errors)
            if result.spans:
                sink.add(result.spans)
                status.spans += len(result.spans)
            sink.add_errors(result.errors, result.skipped)
            status.progress = f"loading {path.name} {100 * consumed // max(1, size)}%"

        if self.two_processes and isinstance(sink, AnalysingSink) and (format_name := can_split(path, size)):
            adopted = read_in_two(path, format_name, size, sink, take)
            report.spans[name] += adopted
            status.spans += adopted
        else:
            for result, consumed in iter_read_path(path):
                take(result, consumed)
                if self.stopping:
                    break
        if report.files[name] is None and report.spans[name] == 0:
            report.unreadable.extend(errors or [ReadError(name, "nothing readable in this file")])


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
