"""Payloads that stay in the file: a span's attributes, events, input, output, tool arguments and messages, read
back on demand.

A trace file is mostly payload: prompts, completions, flattened chat messages and raw attributes are about the
size of the file again once decoded into strings. Lists, trees, flags and routes need none of it once a trace is
analysed; the detail pane, the evaluators and `y` export need it for a few spans at a time. So a span read from a
record of a plain file (a line of an OTLP/JSON file, a request in the receiver's spool: its Source has the record's
byte offset and a `reparse` that reads it again) can drop its payload (`Span.evict_payload`), and the first read
of any payload field comes here: the record is read again at its offset, decoded as it was the first time, and the
span with the same ids hands over its payload. Records just read are kept in a small LRU, because siblings in one
request are usually read together (a tree's detail panes, an evaluator walking a trace); and the payloads read
back stay in memory for the last RESTORED_SPANS spans only, so browsing a big file trace after trace does not
bring it all back.

The file is the store, so it can change under us. A followed file or a spool renamed by a rotation is looked for
beside its old name (the span ids tell the right one); a record that no longer parses or no longer holds the span
(a file rewritten, truncated or deleted) restores an empty payload that says so in one attribute, `orchtui.payload`,
which the detail pane shows. Nothing here raises into the caller: a payload read is a property access.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from . import gzip_seek
from .issues import collecting
from .span import Payload, Source, Span

CACHE_RECORDS = 64  # records kept decoded: a collector line or a spooled request holds a batch of spans
RESTORED_SPANS = 10_000  # spans whose payload is back in memory: past this, the longest restored go back
ROTATED_CANDIDATES = 8  # renamed copies of a file looked at when its record is no longer where it was
LOST_KEY = "orchtui.payload"


@dataclass(slots=True)
class PayloadStats:
    """How often payloads came back from the file, for benchmarks and the tests that keep reads rare."""

    reads: int = 0  # records read and parsed again
    hits: int = 0  # restores served from the LRU
    lost: int = 0  # spans whose record no longer held them


stats = PayloadStats()
_cache: OrderedDict[int, tuple[Source, dict[tuple[str, str], Payload] | str]] = OrderedDict()
_restored: OrderedDict[int, Span] = OrderedDict()  # id -> span, oldest restore first
_lock = threading.Lock()


def restore(span: Span) -> Payload:
    """Give an evicted span its payload back from its record in the file; the payload given."""
    source = span.source
    assert source is not None and source.offset is not None
    key = (span.trace_id, span.span_id)
    payloads = _record_payloads(source, key)
    payload = payloads.get(key) if isinstance(payloads, dict) else None
    if payload is None:
        stats.lost += 1
        reason = payloads if isinstance(payloads, str) else "the record there no longer holds this span"
        payload = Payload({LOST_KEY: f"not in {source} any more: {reason}"}, [], None, None, None)
    span._payload = payload
    _keep_bounded(span)
    return payload


def _keep_bounded(span: Span) -> None:
    """Browsing reads payloads back trace after trace; only the last RESTORED_SPANS stay in memory."""
    with _lock:
        _restored[id(span)] = span
        _restored.move_to_end(id(span))
        overflow = [_restored.popitem(last=False)[1] for _ in range(len(_restored) - RESTORED_SPANS)]
    for old in overflow:
        old.evict_payload()


def _record_payloads(source: Source, wanted: tuple[str, str]) -> dict[tuple[str, str], Payload] | str:
    """The payloads of every span of the record at `source` (the one holding span `wanted`), keyed by (trace id,
    span id); a str says why not."""
    key = id(source)  # one Source a record (its spans share it): two files' line 1s after a rotation differ
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] is source:
            _cache.move_to_end(key)
            stats.hits += 1
            return cached[1]
    payloads = _read(source, Path(source.name))
    if not isinstance(payloads, dict) or wanted not in payloads:
        payloads = next(
            (found for path in rotated_names(Path(source.name)) if isinstance(found := _read(source, path), dict) and wanted in found),
            payloads,
        )
    with _lock:
        stats.reads += 1
        _cache[key] = (source, payloads)  # the source kept with its id, so the id cannot be reused meanwhile
        while len(_cache) > CACHE_RECORDS:
            _cache.popitem(last=False)
    return payloads


def rotated_names(path: Path) -> list[Path]:
    """Where a followed file or a spool may have gone since it was read: renamed beside itself by a log rotation
    (`traces.jsonl.1`, `traces-20261204.jsonl`) or a spool roll-over (`spool-x.3.otlp.jsonl`); newest first, a
    few only. A span id says whether a candidate is the file: a wrong one is never taken."""
    stem = path.name.split(".", 1)[0]
    candidates: list[tuple[int, Path]] = []
    try:
        for entry in path.parent.iterdir():
            name = entry.name
            if name == path.name or not name.startswith(stem) or name.endswith(".gz"):
                continue
            if not (name.startswith(path.name) or name.endswith(path.suffix)):  # another kind of file
                continue
            with contextlib.suppress(OSError):  # gone meanwhile: not a candidate
                stat = entry.stat()
                if S_ISREG(stat.st_mode):
                    candidates.append((stat.st_mtime_ns, entry))
    except OSError:
        return []
    return [entry for _, entry in sorted(candidates, reverse=True)[:ROTATED_CANDIDATES]]


def _read(source: Source, path: Path) -> dict[tuple[str, str], Payload] | str:
    assert source.offset is not None and source.reparse is not None
    try:
        with _open_at(path, source.offset) as file, collecting():  # its problems were reported when first read
            spans = source.reparse(file, source)
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    except Exception as exc:  # noqa: BLE001 - a rewritten file may hold anything at this offset
        return f"the record there does not parse ({type(exc).__name__})"
    payloads: dict[tuple[str, str], Payload] = {}
    for fresh in spans:  # the last copy of a span id wins, as in the store
        payloads[(fresh.trace_id, fresh.span_id)] = fresh.payload
    return payloads


def _open_at(path: Path, offset: int) -> BinaryIO | gzip_seek.RecordReader:
    """The file at `offset`: a gzip file's decompressed stream from its seek points, a plain file seeked."""
    if gzip_seek.is_gzip(path):
        return gzip_seek.open_at(path, offset)
    file = path.open("rb")
    file.seek(offset)
    return file


def forget() -> None:
    """Drop the decoded records and the list of what was restored (a test re-writes a file)."""
    with _lock:
        _cache.clear()
        _restored.clear()
