"""Orders of the trace list: the keys `s` cycles through, as functions of an analysis, and the sort itself.

The sort runs on the row worker with the filters (100,000 traces take tens of milliseconds), never on the UI's
event loop. Unknown values (a running trace's duration, a trace without usage) sort after known ones whichever
way the list is turned, as in k9s and htop, so reversing never buries the traces that have numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .analysis import TraceAnalysis
from .analysis.trace import FLAG_ERROR, FLAG_FALLBACK, FLAG_LOOP, FLAG_RETRY, FLAG_STOP

# Flags weighed by how bad they are: a trace with an error sorts above one that only retried.
FLAG_WEIGHTS = {FLAG_ERROR: 16, FLAG_LOOP: 8, FLAG_STOP: 4, FLAG_FALLBACK: 2, FLAG_RETRY: 1}

SORT_KEYS: dict[str, Callable[[TraceAnalysis], float | None]] = {
    "start": lambda a: a.start_ns,
    "duration": lambda a: None if a.in_progress else a.duration_ms,
    "tokens": lambda a: a.tokens.total,
    "cost": lambda a: a.cost_usd,
    "spans": lambda a: a.span_count,
    "flags": lambda a: sum(FLAG_WEIGHTS.get(flag, 0) for flag in a.flags),
}


@dataclass(frozen=True)
class SortOrder:
    """`key` one of SORT_KEYS; descending (largest, newest first) unless `reverse`."""

    key: str = "start"
    reverse: bool = False

    @property
    def label(self) -> str:
        return f"{self.key} {'↑' if self.reverse else '↓'}"

    def next_key(self) -> SortOrder:
        keys = list(SORT_KEYS)
        return SortOrder(keys[(keys.index(self.key) + 1) % len(keys)], self.reverse)

    def reversed(self) -> SortOrder:
        return SortOrder(self.key, not self.reverse)


NEWEST_FIRST = SortOrder()


def sort_rows(rows: list[TraceAnalysis], order: SortOrder) -> list[TraceAnalysis]:
    """`rows` (newest first, as the index keeps them) in `order`; ties keep newest first (the sort is stable)."""
    if order == NEWEST_FIRST:
        return rows
    value = SORT_KEYS[order.key]
    known = [(v, a) for a in rows if (v := value(a)) is not None]
    unknown = [a for a in rows if value(a) is None]
    known.sort(key=lambda pair: pair[0] if order.reverse else -pair[0])
    return [a for _, a in known] + unknown
