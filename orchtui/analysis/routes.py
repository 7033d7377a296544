"""Routes: traces grouped by the path they took, with the numbers that tell the paths of one workflow apart.

A route's *family* is its trace's root span name (`refund_request`); its *path* is the trace's ordered step
signature (`steps.py`: tool, retriever, hand-off and agent steps and each LLM call's model), consecutive repeats
collapsed with a count (`lookup_policy x4`). Two traces with the same family and path share a route, identified by
`route_id`, a short stable hash of the two (the same route has the same id in every run and file).

`trace_route(analysis)` is the per-trace summary (None while the trace is still running). `RouteBook` keeps one
bucket of summaries per route and is updated incrementally as traces complete (`update` replaces a trace's previous
contribution, `remove` forgets an evicted trace), so a live index, the TUI and `orchtui routes` read the same
numbers; `stats()` only aggregates, folding into its kept summaries just the traces that changed since the last
call (the live routes screen reads it twice a second while traces stream in).

Percentiles are by the nearest-rank method (`orchtui.stats`): the p-th percentile of n sorted values is the value
at rank ceil(p/100 * n) (1-based), always one of the observed values (p50 of 1,2,3,4 is 2).

Expensive branch rule: a route is *expensive* when the route's mean cost per trace is >= 2x the median cost per
trace of the rest of its family, or its p95 latency is >= 2x the p95 latency of the rest of its family. The rest is
the family's traces outside this route; the rule needs the rest non-empty (a family with one path has no
expensive branch), a known cost or latency on both sides, and a route value above zero. In `by="family"` rows,
`expensive` says the family holds at least one expensive branch and the reasons name them.
"""

from __future__ import annotations

import hashlib
import threading
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from operator import attrgetter
from typing import Any

from parsers.span import ERROR

from ..formatting import format_cost, format_duration
from ..stats import nearest_rank, rank
from .steps import PathStep, Signature, models_of, path_of, path_text, step_signature
from .trace import FLAG_LOOP, FLAG_STOP, TraceAnalysis

BY_PATH = "path"
BY_FAMILY = "family"
GROUPINGS = (BY_PATH, BY_FAMILY)
EXPENSIVE_FACTOR = 2.0



def route_id(family: str, path: tuple[PathStep, ...]) -> str:
    """12 hex digits of a hash of the family and the path's step keys and counts: stable across runs."""
    text = "route\x00" + family + "\x00" + "\x1f".join(f"{step.key}\x1e{step.count}" for step in path)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


def family_id(family: str) -> str:
    """The id of a family's row when grouping `by="family"` (never equal to a path's route id)."""
    return hashlib.blake2b(("family\x00" + family).encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


@dataclass(frozen=True, slots=True)
class TraceRoute:
    """What one completed trace contributes to its route."""

    trace_id: str
    family: str
    path: tuple[PathStep, ...]
    route_id: str
    start_ns: int | None
    duration_ms: float | None
    tokens: int | None  # total tokens over the trace's model calls
    cost_usd: float | None  # None when no call could be priced
    retries: int
    tool_calls: int  # executed tool, retriever and hand-off calls
    tool_errors: int
    timeouts: int  # tool errors that say timeout / timed out / deadline, or carry status 408 / 504
    loop: bool
    stop_problem: bool
    success: bool  # the trace's status is not error
    models: tuple[str, ...]

    @property
    def path_text(self) -> str:
        return path_text(self.path)


def trace_route(analysis: TraceAnalysis) -> TraceRoute | None:
    """The route summary of an analysed trace; None while it is still in progress (its numbers would change)."""
    if analysis.in_progress:
        return None
    family = analysis.name
    signature = step_signature(analysis)
    shape = _route_shape if len(signature) <= _CACHED_STEPS else _route_shape.__wrapped__
    path, path_id, models = shape(family, signature)
    executed = [call for call in analysis.tool_calls if call.executed]
    errors = [call for call in executed if call.status == ERROR]
    flags = analysis.flags
    return TraceRoute(
        trace_id=analysis.trace_id,
        family=family,
        path=path,
        route_id=path_id,
        start_ns=analysis.start_ns,
        duration_ms=analysis.duration_ms,
        tokens=analysis.tokens.total,
        cost_usd=analysis.cost_usd,
        retries=analysis.retries,
        tool_calls=len(executed),
        tool_errors=len(errors),
        timeouts=analysis.tool_timeouts,
        loop=FLAG_LOOP in flags,
        stop_problem=FLAG_STOP in flags,
        success=analysis.status != ERROR,
        models=models,
    )


_CACHED_STEPS = 256  # longer signatures are rare and big (a 10k-span run): computed each time, never kept


@lru_cache(maxsize=1024)
def _route_shape(family: str, signature: Signature) -> tuple[tuple[PathStep, ...], str, tuple[str, ...]]:
    """Path, route id and models of a family's step signature. A few shapes recur across thousands of traces, so
    each is collapsed and hashed once and its path shared by every trace that took it."""
    path = path_of(signature)
    return path, route_id(family, path), tuple(models_of(signature))


# -- statistics ------------------------------------------------------------------------------------------------------


def _percentile_of_rest(full: list[float], part: list[float], p: float) -> float | None:
    """The nearest-rank percentile of the multiset `full` minus `part` (both ascending, `part` inside `full`),
    found by binary search without building the difference: O(log n * log m)."""
    size = len(full) - len(part)
    if size <= 0:
        return None
    wanted = rank(p, size)
    lo, hi = 0, len(full) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        value = full[mid]
        if bisect_right(full, value) - bisect_right(part, value) >= wanted:
            hi = mid
        else:
            lo = mid + 1
    return full[lo]


# summary field -> the TraceRoute field it totals
_COUNTS = {"successes": "success", "retries": "retries", "tool_calls": "tool_calls", "tool_errors": "tool_errors",
           "timeouts": "timeouts", "loops": "loop", "stop_problems": "stop_problem"}
_DURATION, _COST, _TOKENS, _MODELS = (attrgetter(name) for name in ("duration_ms", "cost_usd", "tokens", "models"))


@dataclass(slots=True)
class _Summary:
    """Sorted values and totals over a set of trace routes: what a stats row is computed from."""

    traces: int
    durations: list[float]
    costs: list[float]
    tokens: list[int]
    successes: int
    retries: int
    tool_calls: int
    tool_errors: int
    timeouts: int
    loops: int
    stop_problems: int
    models: Counter[str]  # model -> traces using it

    def fold(self, added: list[TraceRoute], removed: list[TraceRoute]) -> None:
        """Apply the changes queued since the summary was built. Adds go first, so a route added and replaced again
        before this fold is in the lists when its removal comes."""
        for route in added:
            self._count(route, 1)
            for values, value in self._values(route):
                insort(values, value)
        for route in removed:
            self._count(route, -1)
            for values, value in self._values(route):
                del values[bisect_left(values, value)]

    def _values(self, route: TraceRoute) -> list[tuple[list, float]]:
        pairs = ((self.durations, route.duration_ms), (self.costs, route.cost_usd), (self.tokens, route.tokens))
        return [(values, value) for values, value in pairs if value is not None]

    def _count(self, route: TraceRoute, sign: int) -> None:
        self.traces += sign
        for name, field_name in _COUNTS.items():
            setattr(self, name, getattr(self, name) + sign * getattr(route, field_name))
        models = self.models
        for model in route.models:
            models[model] += sign
            if not models[model]:
                del models[model]


def _summarize(routes: list[TraceRoute]) -> _Summary:
    """A route's summary: one C-speed pass per field (map over an attrgetter), not a Python loop touching every
    field of every trace."""
    return _Summary(
        traces=len(routes),
        durations=sorted([value for value in map(_DURATION, routes) if value is not None]),
        costs=sorted([value for value in map(_COST, routes) if value is not None]),
        tokens=sorted([value for value in map(_TOKENS, routes) if value is not None]),
        models=Counter(chain.from_iterable(map(_MODELS, routes))),
        **{name: sum(map(attrgetter(field), routes)) for name, field in _COUNTS.items()},
    )


def _merge(parts: list[_Summary]) -> _Summary:
    """A family's summary from its routes' summaries: totals add up, and sorting concatenated sorted lists is a
    merge of runs for timsort."""
    models: Counter[str] = Counter()
    for part in parts:
        models.update(part.models)
    return _Summary(
        traces=sum(part.traces for part in parts),
        durations=sorted(chain.from_iterable(part.durations for part in parts)),
        costs=sorted(chain.from_iterable(part.costs for part in parts)),
        tokens=sorted(chain.from_iterable(part.tokens for part in parts)),
        models=models,
        **{name: sum(getattr(part, name) for part in parts) for name in _COUNTS},
    )


@dataclass
class RouteStats:
    """One row of `orchtui routes`: a route (by="path") or a whole family (by="family"). Rates are 0..1; a number
    that cannot be measured (no cost known, no tool calls) is None, never 0."""

    by: str
    route_id: str
    family: str
    path: tuple[PathStep, ...] | None  # None for a family row
    paths: int  # distinct paths in the row (1 for a route)
    traces: int
    share: float  # of the family's traces
    success_rate: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    tokens_mean: float | None
    tokens_p95: float | None
    cost_mean_usd: float | None
    cost_p95_usd: float | None
    cost_traces: int  # traces with a known cost (the cost numbers are over these)
    retries_per_trace: float
    tool_calls_per_trace: float
    tool_error_rate: float | None  # failed tool calls / tool calls
    timeout_rate: float | None  # timed-out tool calls / tool calls
    loop_rate: float  # share of traces flagged with a loop
    stop_problem_rate: float  # share of traces flagged with a stop-reason problem
    models: list[str]  # most used first, ties by name (the same order whatever order the traces came in)
    expensive: bool = False
    expensive_reasons: list[str] = field(default_factory=list)

    @property
    def path_text(self) -> str | None:
        return None if self.path is None else path_text(self.path)

    @property
    def label(self) -> str:
        """The path text for a route row, "N paths" for a family row."""
        if self.path is not None:
            return path_text(self.path)
        return f"{self.paths} path" + ("" if self.paths == 1 else "s")

    def to_json(self) -> dict[str, Any]:
        """One entry of the `orchtui routes --json` document (README: Routes)."""
        return {
            "route_id": self.route_id,
            "family": self.family,
            "path": None if self.path is None else [{"key": s.key, "label": s.label, "count": s.count} for s in self.path],
            "path_text": self.path_text,
            "paths": self.paths,
            "traces": self.traces,
            "share": _round(self.share, 4),
            "success_rate": _round(self.success_rate, 4),
            "latency_ms": {"p50": _round(self.latency_p50_ms, 3), "p95": _round(self.latency_p95_ms, 3), "p99": _round(self.latency_p99_ms, 3)},
            "tokens_per_trace": {"mean": _round(self.tokens_mean, 1), "p95": self.tokens_p95},
            "cost_usd_per_trace": {"mean": _round(self.cost_mean_usd, 8), "p95": _round(self.cost_p95_usd, 8)},
            "cost_traces": self.cost_traces,
            "retries_per_trace": _round(self.retries_per_trace, 4),
            "tool_calls_per_trace": _round(self.tool_calls_per_trace, 4),
            "tool_error_rate": _round(self.tool_error_rate, 4),
            "timeout_rate": _round(self.timeout_rate, 4),
            "loop_rate": _round(self.loop_rate, 4),
            "stop_problem_rate": _round(self.stop_problem_rate, 4),
            "models": list(self.models),
            "expensive": self.expensive,
            "expensive_reasons": list(self.expensive_reasons),
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _stats_row(by: str, row_id: str, family: str, path: tuple[PathStep, ...] | None, paths: int, summary: _Summary, family_traces: int) -> RouteStats:
    n = summary.traces
    calls = summary.tool_calls
    return RouteStats(
        by=by,
        route_id=row_id,
        family=family,
        path=path,
        paths=paths,
        traces=n,
        share=n / family_traces if family_traces else 0.0,
        success_rate=summary.successes / n,
        latency_p50_ms=nearest_rank(summary.durations, 50),
        latency_p95_ms=nearest_rank(summary.durations, 95),
        latency_p99_ms=nearest_rank(summary.durations, 99),
        tokens_mean=_mean(summary.tokens),
        tokens_p95=nearest_rank(summary.tokens, 95),
        cost_mean_usd=_mean(summary.costs),
        cost_p95_usd=nearest_rank(summary.costs, 95),
        cost_traces=len(summary.costs),
        retries_per_trace=summary.retries / n,
        tool_calls_per_trace=calls / n,
        tool_error_rate=summary.tool_errors / calls if calls else None,
        timeout_rate=summary.timeouts / calls if calls else None,
        loop_rate=summary.loops / n,
        stop_problem_rate=summary.stop_problems / n,
        models=sorted(summary.models, key=lambda model: (-summary.models[model], model)),
    )


def expensive_reasons(route: _Summary, family: _Summary, family_name: str) -> list[str]:
    """Why a route is an expensive branch of its family (the module docstring's rule); empty when it is not."""
    if family.traces - route.traces <= 0:
        return []
    reasons = []
    mean_cost = _mean(route.costs)
    rest_cost = _percentile_of_rest(family.costs, route.costs, 50)
    if mean_cost is not None and rest_cost is not None and mean_cost > 0 and mean_cost >= EXPENSIVE_FACTOR * rest_cost:
        reasons.append(
            f"cost {format_cost(mean_cost)}/trace is {_times(mean_cost, rest_cost)} the rest of {family_name} "
            f"(median {format_cost(rest_cost)})"
        )
    p95 = nearest_rank(route.durations, 95)
    rest_p95 = _percentile_of_rest(family.durations, route.durations, 95)
    if p95 is not None and rest_p95 is not None and p95 > 0 and p95 >= EXPENSIVE_FACTOR * rest_p95:
        reasons.append(
            f"p95 latency {format_duration(p95)} is {_times(p95, rest_p95)} the rest of {family_name} "
            f"(p95 {format_duration(rest_p95)})"
        )
    return reasons


def _times(value: float, base: float) -> str:
    return f"{value / base:.1f}x" if base > 0 else "more than"


# -- the book --------------------------------------------------------------------------------------------------------


# A kept summary is rebuilt instead of folded once more changes queued than this (folding one costs a few
# memmoves of its sorted lists; rebuilding re-reads and re-sorts every trace).
_FOLD_LIMIT = 64
_FOLD_SHARE = 32


class _Kept:
    """A summary kept current between reads: writers only queue what changed (O(1) on the ingest thread), and a
    read folds the queue into the sorted lists, so the live routes screen re-reading stats twice a second pays for
    the traces that changed, not for all of them. When so much changed that rebuilding is cheaper, the summary is
    dropped and rebuilt at the next read (this also bounds the queue while nobody reads)."""

    __slots__ = ("summary", "added", "removed")

    def __init__(self) -> None:
        self.summary: _Summary | None = None
        self.added: list[TraceRoute] = []
        self.removed: list[TraceRoute] = []

    def queue(self, added: TraceRoute | None, removed: TraceRoute | None) -> None:
        if self.summary is None:
            return  # built from scratch at the next read anyway
        if added is not None:
            self.added.append(added)
        if removed is not None:
            self.removed.append(removed)
        if len(self.added) + len(self.removed) > _FOLD_LIMIT + self.summary.traces // _FOLD_SHARE:
            self.summary, self.added, self.removed = None, [], []

    def read(self, build: Callable[[], _Summary]) -> _Summary:
        if self.summary is None:
            self.summary = build()
        elif self.added or self.removed:
            self.summary.fold(self.added, self.removed)
            self.added, self.removed = [], []
        return self.summary


class _Bucket:
    __slots__ = ("route_id", "family", "path", "traces", "kept")

    def __init__(self, route_id: str, family: str, path: tuple[PathStep, ...]) -> None:
        self.route_id = route_id
        self.family = family
        self.path = path
        self.traces: dict[str, TraceRoute] = {}
        self.kept = _Kept()

    def summary(self) -> _Summary:
        return self.kept.read(lambda: _summarize(list(self.traces.values())))


class _Family:
    __slots__ = ("name", "buckets", "kept")

    def __init__(self, name: str) -> None:
        self.name = name
        self.buckets: dict[str, _Bucket] = {}
        self.kept = _Kept()

    def summary(self) -> _Summary:
        """Kept like a bucket's; a rebuild merges the buckets' summaries (each brought current first)."""
        return self.kept.read(lambda: _merge([bucket.summary() for bucket in self.buckets.values()]))


class RouteBook:
    """Per-route buckets of completed traces, updated incrementally; thread-safe (update from an ingest thread,
    read `stats()` from the UI). `generation` moves on every change that alters a number."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._families: dict[str, _Family] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._routes: dict[str, TraceRoute] = {}  # trace id -> its current contribution
        self._versions: dict[str, int] = {}  # trace id -> the newest analysis version seen
        self.generation = 0

    def __len__(self) -> int:
        return len(self._routes)

    def update(self, analysis: TraceAnalysis) -> bool:
        """Put the trace's current route in place of its previous one (an in-progress trace is taken out until it
        completes). An analysis older than one already seen for the trace is ignored. True when something changed."""
        route = trace_route(analysis)
        with self._lock:
            seen = self._versions.get(analysis.trace_id)
            if seen is not None and analysis.version < seen:
                return False
            self._versions[analysis.trace_id] = analysis.version
            return self._replace(analysis.trace_id, route)

    def add_route(self, route: TraceRoute) -> bool:
        """Put a precomputed route in the book (replacing the trace's previous one)."""
        with self._lock:
            return self._replace(route.trace_id, route)

    def remove(self, trace_id: str) -> bool:
        """Forget a trace (evicted from the store)."""
        with self._lock:
            self._versions.pop(trace_id, None)
            return self._replace(trace_id, None)

    def _replace(self, trace_id: str, route: TraceRoute | None) -> bool:
        old = self._routes.get(trace_id)
        if old == route:
            return False
        if old is not None:
            bucket = self._buckets[old.route_id]
            del bucket.traces[trace_id]
            bucket.kept.queue(None, old)
            family = self._families[old.family]
            family.kept.queue(None, old)
            if not bucket.traces:
                del self._buckets[old.route_id]
                del family.buckets[old.route_id]
                if not family.buckets:
                    del self._families[old.family]
            del self._routes[trace_id]
        if route is not None:
            bucket = self._buckets.get(route.route_id)
            family = self._families.get(route.family)
            if family is None:
                family = self._families[route.family] = _Family(route.family)
            if bucket is None:
                bucket = self._buckets[route.route_id] = family.buckets[route.route_id] = _Bucket(route.route_id, route.family, route.path)
            bucket.traces[trace_id] = route
            bucket.kept.queue(route, None)
            family.kept.queue(route, None)
            self._routes[trace_id] = route
        self.generation += 1
        return True

    def route_of(self, trace_id: str) -> TraceRoute | None:
        return self._routes.get(trace_id)

    def trace_ids(self, route_id: str, by: str = BY_PATH) -> list[str]:
        """The traces of a route (by="path") or of a family (by="family", `route_id` a family row's id), newest
        first."""
        _check_by(by)
        with self._lock:
            if by == BY_PATH:
                bucket = self._buckets.get(route_id)
                routes = list(bucket.traces.values()) if bucket is not None else []
            else:
                family = next((f for name, f in self._families.items() if family_id(name) == route_id), None)
                routes = [r for b in family.buckets.values() for r in b.traces.values()] if family is not None else []
        routes.sort(key=lambda r: (-(r.start_ns or 0), r.trace_id))
        return [r.trace_id for r in routes]

    def stats(self, by: str = BY_PATH) -> list[RouteStats]:
        """One row per route (or family), sorted by family, then traces (most first), then path."""
        _check_by(by)
        rows: list[RouteStats] = []
        with self._lock:
            for name in sorted(self._families):
                family = self._families[name]
                whole = family.summary()
                path_rows = []
                for bucket in family.buckets.values():
                    summary = bucket.summary()
                    row = _stats_row(BY_PATH, bucket.route_id, name, bucket.path, 1, summary, whole.traces)
                    row.expensive_reasons = expensive_reasons(summary, whole, name)
                    row.expensive = bool(row.expensive_reasons)
                    path_rows.append(row)
                path_rows.sort(key=lambda r: (-r.traces, r.label))
                if by == BY_PATH:
                    rows.extend(path_rows)
                else:
                    row = _stats_row(BY_FAMILY, family_id(name), name, None, len(family.buckets), whole, whole.traces)
                    row.expensive_reasons = [f"{r.label}: {reason}" for r in path_rows for reason in r.expensive_reasons]
                    row.expensive = bool(row.expensive_reasons)
                    rows.append(row)
        return rows


def _check_by(by: str) -> None:
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
