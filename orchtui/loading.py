"""Load trace files into a store: paths, directories and globs in, spans and read errors recorded.

Shared by every command that opens saved files (`check`, `open`, `eval`), so they agree on what a path means.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from parsers.read import iter_read_path
from parsers.span import ReadError, Span

from .remote import RemoteError, is_url, redact_url, source_for


@dataclass(slots=True)
class LoadReport:
    """What loading found: per-file formats and span counts, and inputs that could not be read at all."""

    files: dict[str, str | None] = field(default_factory=dict)  # path -> format name (None: unreadable)
    spans: dict[str, int] = field(default_factory=dict)
    unreadable: list[ReadError] = field(default_factory=list)


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


class SpanSink(Protocol):
    """Where loaded spans go: the store itself (`check`) or the live index in front of it (the TUI)."""

    def add(self, spans: list[Span]) -> object: ...

    def add_errors(self, errors: list[ReadError], skipped: dict[str, int] | None = None) -> None: ...


Progress = Callable[[str, int, int], None]  # (file, bytes read, file size)


def load_paths(paths: list[str], sink: SpanSink, progress: Progress | None = None) -> LoadReport:
    """Stream every input into `sink` chunk by chunk (first traces early, one chunk of text in memory)."""
    report = LoadReport()
    urls = [path for path in paths if is_url(path)]
    files, missing = expand([path for path in paths if not is_url(path)])
    report.unreadable.extend(missing)
    sink.add_errors(missing)
    for url in urls:
        _load_url(url, sink, report)
    for path in files:
        name = str(path)
        size = path.stat().st_size if path.exists() else 0
        report.spans[name] = 0
        report.files[name] = None
        errors: list[ReadError] = []
        for result, consumed in iter_read_path(path):
            if result.format is not None:
                report.files[name] = result.format
            report.spans[name] += len(result.spans)
            errors.extend(result.errors)
            if result.spans:
                sink.add(result.spans)
            sink.add_errors(result.errors, result.skipped)
            if progress is not None:
                progress(name, consumed, size)
        if report.files[name] is None and report.spans[name] == 0:
            report.unreadable.extend(errors or [ReadError(name, "nothing readable in this file")])
    return report


def _load_url(url: str, sink: SpanSink, report: LoadReport) -> None:
    """Everything a store URL selects, into `sink` batch by batch; a store that cannot be read is unreadable."""
    try:
        source = source_for(url)
    except RemoteError as exc:
        report.unreadable.append(ReadError(redact_url(url), str(exc)))
        sink.add_errors(report.unreadable[-1:])
        return
    name = source.label
    report.spans[name] = 0
    report.files[name] = None
    try:
        for result in source.read_once():
            report.files[name] = result.format or report.files[name]
            report.spans[name] += len(result.spans)
            if result.spans:
                sink.add(result.spans)
            sink.add_errors(result.errors, result.skipped)
    except RemoteError as exc:
        report.unreadable.append(ReadError(name, str(exc)))
        sink.add_errors(report.unreadable[-1:])
