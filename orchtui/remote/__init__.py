"""Trace stores as sources: a URL on the command line (`phoenix://`, `clickhouse://`, `jaeger://`, `tempo://`)
instead of a path, read once (`check`, `eval`, `routes`, `diff`, `open`) or polled live (`tail`).

Every store is a `RemoteSource` (base.py), found by its URL scheme in `SCHEMES`. A source turns the store's
answers into the same `ParseResult` batches a file gives (through the project's parsers, so every vocabulary and
every hardening rule applies), so the loading path, the store and the analysis never know where spans came from.
Credentials come from the environment or the config file only, never from the URL or argv (base.py says why).
"""

from __future__ import annotations

import importlib

from ..textsafe import printable
from .base import RemoteSource, RemoteError, is_url, redact_url

# URL scheme -> module defining `open_source(url: str) -> RemoteSource` (imported on first use: httpx and
# store clients cost startup time every other command would pay).
SCHEMES: dict[str, str] = {
    "clickhouse": ".clickhouse",  # the OTel Collector ClickHouse exporter's tables over HTTP
    "clickhouse+https": ".clickhouse",  # the same over TLS
    "jaeger": ".jaeger",  # Jaeger v2's HTTP API v3 (/api/v3/traces)
    "jaeger+https": ".jaeger",
    "tempo": ".tempo",  # Grafana Tempo: /api/search, then each trace by id as protobuf
    "tempo+https": ".tempo",
    "phoenix": ".phoenix",  # Arize Phoenix: /v1/projects/<p>/spans/otlpv1, cursor paging
    "phoenix+https": ".phoenix",
}


def source_for(url: str) -> RemoteSource:
    """The source a URL names; RemoteError for an unknown scheme or a malformed URL."""
    scheme = url.split("://", 1)[0].lower()
    module = SCHEMES.get(scheme)
    if module is None:
        known = ", ".join(f"{name}://" for name in sorted(SCHEMES)) or "none yet"
        raise RemoteError(f"unknown store scheme {scheme}:// (known: {known})")
    try:
        return importlib.import_module(module, __name__).open_source(url)
    except ValueError as exc:  # urlsplit's own refusals (an unclosed `[` of an IPv6 host, ...)
        raise RemoteError(f"malformed URL: {printable(str(exc), True)}") from None


__all__ = ["SCHEMES", "RemoteError", "RemoteSource", "is_url", "redact_url", "source_for"]
