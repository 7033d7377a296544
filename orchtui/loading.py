"""Load inputs into a store, once: paths, directories, globs and store URLs in, spans and read errors recorded.

The once-mode driver of the sources (orchtui.sources): shared by every command that reads inputs to their end
(`check`, `eval`, `routes`, `diff`, and the Python API), so they agree on what a name means. Each source runs on the
calling thread, one after the other; one that fails is reported as unreadable and the others still load.
"""

from __future__ import annotations

from collections.abc import Sequence

from .sources.base import LoadReport, Source, SpanSink, expand
from .sources.factory import sources_for

__all__ = ["LoadReport", "SpanSink", "expand", "load_paths", "load_sources"]


def load_sources(sources: Sequence[Source], sink: SpanSink) -> LoadReport:
    """Run every source to its end into `sink` (ONCE sources: a FOLLOW one would wait for `stop`)."""
    report = LoadReport()
    for source in sources:
        source.drive(sink)
        report.merge(source.report)
    return report


def load_paths(paths: Sequence[str], sink: SpanSink) -> LoadReport:
    """Stream every input (paths and store URLs, in any mix) into `sink` batch by batch (first traces early, one
    chunk of text in memory)."""
    return load_sources(sources_for(paths), sink)
