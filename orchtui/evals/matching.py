"""Argument equality and call matching shared by the trajectory evaluators (design/evaluators.md §8.0, §8.3).

Equality is deep on parsed JSON: key order never matters, array order does, `1 == 1.0`, but a bool never equals a
number (Python's `True == 1` is a known agentevals quirk we do not copy), and strings are case-sensitive.
Matching two call lists uses maximum bipartite matching, so partial matchers never give greedy false negatives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

ArgsMatcher = Callable[[Any, Any], bool]
ARG_MODES = ("exact", "ignore", "subset", "superset")


def deep_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    return a == b


def _is_subset(small: Any, large: Any) -> bool:
    """Every key of `small` present in `large` with an equal value (both must be objects)."""
    return isinstance(small, dict) and isinstance(large, dict) and all(k in large and deep_equal(v, large[k]) for k, v in small.items())


def _path_value(args: Any, path: str) -> Any:
    value = args
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def args_matcher(mode: str | Sequence[str] | ArgsMatcher) -> ArgsMatcher:
    """A matcher called as (actual_args, expected_args) in every mode (fixes the agentevals subset-mode flip)."""
    if callable(mode):
        return mode
    if isinstance(mode, (list, tuple)):
        paths = list(mode)
        return lambda actual, expected: isinstance(actual, dict) and isinstance(expected, dict) and all(
            deep_equal(_path_value(actual, p), _path_value(expected, p)) for p in paths
        )
    if mode == "exact":
        return deep_equal  # unparseable arguments are raw strings: compared as strings
    if mode == "ignore":
        return lambda actual, expected: True
    if mode == "subset":
        return lambda actual, expected: _is_subset(actual, expected)
    if mode == "superset":
        return lambda actual, expected: _is_subset(expected, actual)
    raise ValueError(f"unknown tool_args_match_mode {mode!r}: expected one of {', '.join(ARG_MODES)}, a list of key paths, or a callable")


def call_matcher(
    mode: str | Sequence[str] | ArgsMatcher = "exact", overrides: dict[str, Any] | None = None
) -> Callable[[tuple[str, Any], tuple[str, Any]], bool]:
    """(actual (name, args), expected (name, args)) -> match, with per-tool overrides of the args mode."""
    default = args_matcher(mode)
    per_tool = {name: args_matcher(override) for name, override in (overrides or {}).items()}

    def matches(actual: tuple[str, Any], expected: tuple[str, Any]) -> bool:
        if actual[0] != expected[0]:
            return False
        if len(expected) > 2 and expected[2] is False:  # expected call without args: name only
            return True
        return per_tool.get(actual[0], default)(actual[1], expected[1])

    return matches


def max_matching(actual: Sequence[Any], expected: Sequence[Any], matches: Callable[[Any, Any], bool]) -> dict[int, int]:
    """Maximum bipartite matching (Kuhn's augmenting paths): expected index -> actual index."""
    candidates = [[i for i, a in enumerate(actual) if matches(a, e)] for e in expected]
    owner: dict[int, int] = {}  # actual index -> expected index

    def augment(e: int, seen: set[int]) -> bool:
        for i in candidates[e]:
            if i in seen:
                continue
            seen.add(i)
            if i not in owner or augment(owner[i], seen):
                owner[i] = e
                return True
        return False

    for e in range(len(expected)):
        augment(e, set())
    return {e: i for i, e in owner.items()}
