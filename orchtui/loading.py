"""Load trace files into a store: paths, directories and globs in, spans and read errors recorded.

Shared by every command that opens saved files (`check`, `open`, `eval`), so they agree on what a path means.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from parsers import read_path
from parsers.span import ReadError

from .store import SpanStore


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


def load_paths(paths: list[str], store: SpanStore) -> LoadReport:
    report = LoadReport()
    files, missing = expand(paths)
    report.unreadable.extend(missing)
    store.add_errors(missing)
    for path in files:
        result = read_path(path)
        name = str(path)
        report.files[name] = result.format
        report.spans[name] = len(result.spans)
        if result.format is None and not result.spans:
            report.unreadable.extend(result.errors or [ReadError(name, "nothing readable in this file")])
        store.add(result.spans)
        store.add_errors(result.errors, result.skipped)
    return report
