"""Command-line names and options -> sources: the one place that knows what a path or a URL means."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..remote.base import is_url
from .base import Source
from .defaults import DEFAULT_MAX_BODY


def sources_for(
    names: Sequence[str] = (),
    *,
    follow: bool = False,
    from_end: bool = False,
    otlp: tuple[str, int] | None = None,
    otlp_grpc: tuple[str, int] | None = None,
    token: str | None = None,
    spool: Path | None = None,
    spool_max=None,
    spool_family: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    demo: float | None = None,
) -> list[Source]:
    """The sources for `names` (any mix of paths, directories, globs and store URLs) read once, or followed live
    (`follow`: files from the start, or `from_end`; stores polled), then the OTLP receiver when `otlp` and/or
    `otlp_grpc` name addresses (with `token`, the spool at `spool` capped by `spool_max`), then the demo played over
    `demo` seconds.

    Every store URL is a source of its own (each polled on its own thread); the paths together are one source (one
    progress line, read in the order given), placed where the first path was named. Modules are imported here,
    per kind: `check` never loads the receiver."""
    sources: list[Source] = []
    paths = [name for name in names if not is_url(name)]
    for name in names:
        if is_url(name):
            from .stores import StoreSource

            sources.append(StoreSource(name, follow=follow))
        elif paths:
            from .files import FileSource, FollowSource

            sources.append(FollowSource(paths, from_end=from_end) if follow else FileSource(paths))
            paths = []
    if otlp is not None or otlp_grpc is not None:
        from .receiver import ReceiverSource

        sources.append(
            ReceiverSource(otlp, otlp_grpc, token=token, spool=spool, spool_max=spool_max, spool_family=spool_family, max_body=max_body)
        )
    if demo is not None:
        from ..demo import DemoSource

        sources.append(DemoSource(demo))
    return sources
