"""The one percentile definition the engine, its reports and the benchmarks share: nearest rank.

The p-th percentile of n ascending values is the value at rank ceil(p/100 * n) (1-based, at least 1): always a
value that really occurred, no interpolation (p50 of 1, 2, 3, 4 is 2). A gate limit, a routes row and a benchmark
line therefore agree on what "p95" means.

The rank is computed exactly from the decimal `p` as written: in floating point, 0.07 * 100 is 7.000000000000001
and its ceiling would skip a rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def nearest_rank(ordered: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile of ascending `ordered` (`percent` in 0..100); None when there are no values."""
    if not ordered:
        return None
    return ordered[rank(percent, len(ordered)) - 1]


def rank(percent: float, size: int) -> int:
    """The 1-based nearest rank of the `percent`-th percentile among `size` values, clamped to 1..size."""
    scaled = percent * size if isinstance(percent, int) else Fraction(str(percent)) * size
    return min(size, max(1, -(-scaled // 100)))  # an exact ceiling: integer and Fraction floor division
