"""Gate files: per-route expectations for `orchtui eval --spec GATE.toml` (the CI gate).

    profile = "futureagi"                   # optional: FutureAGI's formulas for the evaluators that have one
    [[route]]
    match = "refund_*"                      # glob on the trace's root span name
    expected_tool_calls = [{ name = "lookup_policy" }, { name = "issue_refund" }]
    trajectory_mode = "in_order"
    tool_args_match_mode = "ignore"
    max_steps = 6
    profile = "default"                     # optional: this route's profile (wins over the top-level one)
    evaluators = ["TrajectoryMatch", "StepEfficiency", "LoopDetection", "StopReason", "TaskCompletion"]
    [route.thresholds]
    StepEfficiency = 0.6
    [route.limits]                          # over all of the inputs' traces on this route (the batch gate)
    min_pass_rate = 0.95                    # share of traces passing every evaluator
    max_p95_ms = 8000
    max_cost_usd_per_trace = 0.05           # mean
    max_loop_rate = 0.02

Validated on load with messages that name the route and key, because a typo in a gate silently passing CI is
the worst failure a gate can have.

`profile` (design/evaluators.md §8.0: "default" or "futureagi") says which formulas score the evaluators that have
a FutureAGI one (TaskCompletion, StepEfficiency, ToolSelectionAccuracy, TrajectoryScore); the others run as usual.
A route's own `profile` wins over the top-level one, which also covers traces no route matches; `orchtui eval
--profile` wins over both (orchtui/evaluation.py `evaluate_trace`).
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analysis.compare import Comparison, compare_with_golden
from .evals import EVALUATORS, PROFILES, REFERENCE_FREE
from .evals.matching import ARG_MODES
from .evals.reference import Reference
from .textsafe import UNSAFE

TRAJECTORY_MODES = ("strict", "unordered", "subset", "superset", "in_order", "exact")
REFERENCE_KEYS = (
    "expected_tool_calls", "expected_messages", "expected_output", "required_tools", "allowed_tools", "denied_tools",
    "available_tools", "optimal_steps", "max_steps", "success_criteria", "goal",
)
# Batch limits over a route's traces: name -> (lower bound?, largest allowed value or None).
LIMITS = {
    "min_pass_rate": (True, 1.0),
    "max_p95_ms": (False, None),
    "max_cost_usd_per_trace": (False, None),
    "max_loop_rate": (False, 1.0),
}
ROUTE_KEYS = {
    "match", "evaluators", "thresholds", "limits", "profile", "trajectory_mode", "tool_args_match_mode", "tool_args_match_overrides",
    *REFERENCE_KEYS,
}
TOP_KEYS = ("route", "profile")


class GateError(ValueError):
    """A gate file that cannot be used, with the reason and where."""


@dataclass
class Route:
    match: str
    reference: Reference
    evaluators: tuple[str, ...]
    thresholds: dict[str, float] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # evaluator -> extra options
    limits: dict[str, float] = field(default_factory=dict)  # batch limits (LIMITS) over the route's traces
    profile: str | None = None  # the route's `profile`, else the gate file's top-level one; None: neither says

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.match)

    @property
    def has_golden_path(self) -> bool:
        return self.reference.expected_tool_calls is not None

    def compare(self, analysis: Any) -> Comparison:
        """A trace against this route's golden path (its expected tool calls); arguments count unless the route
        matches them with `tool_args_match_mode = "ignore"`, as a saved golden route does."""
        args_mode = self.options.get("TrajectoryMatch", {}).get("tool_args_match_mode")
        return compare_with_golden(self.match, self.reference.expected_tool_calls or [], analysis, compare_args=args_mode != "ignore")


class Gate(list):
    """A gate file's routes (Route objects, in file order) with its top-level settings: a list, so code that only
    wants the routes iterates it as before."""

    def __init__(self, routes: list[Route] = (), profile: str | None = None) -> None:  # type: ignore[assignment]
        super().__init__(routes)
        self.profile = profile  # the top-level `profile` (None when the file has none)


def load_gate(path: str | Path) -> Gate:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise GateError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise GateError(f"{path}: not UTF-8 text: {exc}") from None
    return parse_gate(text, path)


def parse_gate(text: str, path: str | Path) -> Gate:
    """The routes of a gate file's `text` (`path` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GateError(f"{path}: not valid TOML: {exc}") from None
    unknown_top = sorted(set(data) - set(TOP_KEYS))
    if unknown_top:
        raise GateError(f"{path}: unknown top-level key(s) {', '.join(unknown_top)} (allowed: [[route]] tables and `profile`)")
    profile = _profile(data, f"{path}: top-level")
    routes = data.get("route")
    if not isinstance(routes, list) or not routes:
        raise GateError(f"{path}: no [[route]] tables")
    return Gate([_route(entry, f"{path}: route {index + 1}", profile) for index, entry in enumerate(routes)], profile)


def _profile(table: dict[str, Any], where: str) -> str | None:
    """The table's `profile` (None when absent); anything but a known profile's name is a GateError."""
    if "profile" not in table:
        return None
    value = table["profile"]
    if not isinstance(value, str) or value not in PROFILES:
        raise GateError(f"{where}: bad profile {value!r}; expected one of {', '.join(PROFILES)}")
    return value


def _route(entry: dict[str, Any], where: str, gate_profile: str | None = None) -> Route:
    if not isinstance(entry, dict):
        raise GateError(f"{where}: a route is a [[route]] table")
    unknown = sorted(set(entry) - ROUTE_KEYS)
    if unknown:
        raise GateError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(ROUTE_KEYS))}")
    match = entry.get("match")
    if not isinstance(match, str) or not match:
        raise GateError(f"{where}: `match` must be a glob on the root span name, e.g. \"refund_*\"")
    if not _brackets_close(match):
        raise GateError(f"{where}: bad glob {match!r}: unbalanced brackets")
    where = f"{where} ({match})"
    calls = entry.get("expected_tool_calls")
    if calls is not None and not all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in calls):
        raise GateError(f"{where}: every expected_tool_calls entry needs a `name`")
    evaluators = entry.get("evaluators")
    reference = Reference(**{k: entry[k] for k in REFERENCE_KEYS if k in entry})
    if evaluators is None:
        evaluators = list(REFERENCE_FREE) + (["TrajectoryMatch"] if reference.expected_calls() is not None else [])
    bad = [name for name in evaluators if name not in EVALUATORS]
    if bad:
        raise GateError(f"{where}: unknown evaluator(s) {', '.join(bad)}; known: {', '.join(EVALUATORS)}")
    thresholds = entry.get("thresholds", {})
    bad = [name for name in thresholds if name not in EVALUATORS]
    if bad or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in thresholds.values()):
        raise GateError(f"{where}: thresholds must map evaluator names to numbers in 0..1")
    limits = _limits(entry.get("limits", {}), where)
    profile = _profile(entry, where) or gate_profile
    mode = entry.get("trajectory_mode", "in_order")
    if mode not in TRAJECTORY_MODES:
        raise GateError(f"{where}: bad trajectory_mode {mode!r}; expected one of {', '.join(TRAJECTORY_MODES)}")
    args_mode = entry.get("tool_args_match_mode", "exact")
    if args_mode not in ARG_MODES:
        raise GateError(f"{where}: bad tool_args_match_mode {args_mode!r}; expected one of {', '.join(ARG_MODES)}")
    overrides = entry.get("tool_args_match_overrides")
    match_options = {"mode": mode, "tool_args_match_mode": args_mode}
    if overrides is not None:
        match_options["tool_args_match_overrides"] = overrides
    options = {"TrajectoryMatch": match_options}
    if "ToolSelectionAccuracy" in evaluators and args_mode != "exact":
        options["ToolSelectionAccuracy"] = {"tool_args_match_mode": args_mode}
    return Route(match, reference, tuple(evaluators), {k: float(v) for k, v in thresholds.items()}, options, limits, profile)


def _limits(table: Any, where: str) -> dict[str, float]:
    if not isinstance(table, dict):
        raise GateError(f"{where}: `limits` must be a table ([route.limits])")
    unknown = sorted(set(table) - set(LIMITS))
    if unknown:
        raise GateError(f"{where}: unknown limit(s) {', '.join(unknown)}; allowed: {', '.join(LIMITS)}")
    limits = {}
    for name, value in table.items():
        _, ceiling = LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (ceiling is not None and value > ceiling):
            bound = f"0..{ceiling:g}" if ceiling is not None else "a number >= 0"
            raise GateError(f"{where}: limit {name} must be {bound}, got {value!r}")
        limits[name] = float(value)
    return limits


def route_for(name: str, routes: list[Route]) -> Route | None:
    """The first route whose glob matches the trace's root span name."""
    return next((route for route in routes if route.matches(name)), None)


def gate_profile(routes: list[Route] | None, route: Route | None) -> str | None:
    """The profile a gate sets for a trace: its route's (the route's own `profile`, else the file's top-level one),
    or for a trace no route matches the top-level one; None when the gate says nothing."""
    if route is not None:
        return route.profile
    return getattr(routes, "profile", None)


def _brackets_close(glob: str) -> bool:
    """Does every `[` open a character class that a `]` closes, with no stray `]` (fnmatch's rules: a `]` right
    after `[` or `[!` is a member)? A typo like `refund_[*` would otherwise silently match nothing."""
    index = 0
    while index < len(glob):
        char = glob[index]
        if char == "]":
            return False
        if char == "[":
            end = index + 1
            if end < len(glob) and glob[end] == "!":
                end += 1
            if end < len(glob) and glob[end] == "]":
                end += 1
            end = glob.find("]", end)
            if end < 0:
                return False
            index = end
        index += 1
    return True


def glob_literal(name: str) -> str:
    """A glob matching exactly `name`: its `*`, `?`, `[` and `]` each in a one-character class."""
    return "".join(f"[{char}]" if char in "*?[]" else char for char in name)


def toml_string(value: str) -> str:
    """`value` as a TOML basic string: quote and backslash escaped, and every character `printable` would escape
    (controls, DEL, bidi, zero-width...) as a \\u escape, so the file loads back to the same text and shows no
    acting character when printed. A lone surrogate has no TOML form: ValueError."""

    def escape(match) -> str:
        char = match.group(0)
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise ValueError(f"{value!r} holds a lone surrogate, which a TOML file cannot hold")
        code = ord(char)
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    body = value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
    return '"' + UNSAFE.sub(escape, body) + '"'


def golden_route_toml(name: str, calls: list[tuple[str, object]]) -> str:
    """A `[[route]]` entry that holds future runs named like this one to its observed tool path (in order,
    arguments ignored: they legitimately vary run to run). Its glob matches the name literally."""
    expected = ", ".join(f"{{ name = {toml_string(str(call))} }}" for call, _ in calls)
    return (
        "\n[[route]]\n"
        f"match = {toml_string(glob_literal(name))}\n"
        f"expected_tool_calls = [{expected}]\n"
        'trajectory_mode = "in_order"\n'
        'tool_args_match_mode = "ignore"\n'
        f"max_steps = {max(1, len(calls) * 2)}\n"
    )


def append_golden_route(path: str | Path, name: str, calls: list[tuple[str, object]]) -> Path:
    """Append the route to `path` (created if missing), after checking that the file with it still loads: a gate
    file that stops loading fails every later `eval --spec`, so nothing is written when it would (GateError)."""
    path = Path(path)
    entry = golden_route_toml(name, calls)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    parse_gate(existing + entry, path)
    with open(path, "a", encoding="utf-8") as out:
        out.write(entry)
    return path
