"""Small statistics shared by the benchmark scripts (which put the repository root on sys.path first)."""

from __future__ import annotations

from orchtui.stats import nearest_rank


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (p in 0..100) of unsorted, non-empty `values`, by the engine's nearest rank."""
    result = nearest_rank(sorted(values), p)
    if result is None:
        raise ValueError("percentile of no values")
    return result
