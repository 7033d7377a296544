"""TrajectoryMatch: does the run's tool-call trajectory match a reference trajectory (design/evaluators.md §8.3)?

Six modes, compatible with agentevals (strict, unordered, subset, superset), ADK / Vertex / promptfoo (in_order,
exact). Calls are matched by maximum bipartite matching, so a partial argument matcher never gives the false
negatives of agentevals' greedy first fit; the argument matcher is always called as (actual, expected), which fixes
the agentevals subset-mode flip. The score is 1.0 or 0.0; precision and recall (Vertex trajectory_precision/recall,
order-free) are reported even on failure, and the explanation names the first expected call without a match and
the nearest actual call, because "FAIL" alone sends the user hunting through the trace.

Strict mode compares messages (agentevals): the same number of messages, and per position the same role, the same
presence of tool calls and the same calls (as a multiset; content is never compared). Which messages:
- A transcript given as messages (`Trajectory.from_messages`) is compared exactly as given, every message in it: a
  transcript ending on a user message matches an identical reference, and one without any assistant message is
  compared too (it no longer falls back to the flattened calls, where "no calls" passed against any reference
  without calls).
- A trace has no transcript of its own: it is the terminal LLM call's conversation plus its output, then a tool
  message for each call it requested that ran (design/evaluators.md §8.3).
- System (and developer) messages count, as in agentevals, when the reference has any. A reference without any is
  taken to leave the system prompt out (a trace always records it, a hand-written reference rarely does): the
  transcript's system messages are then not compared, and the explanation says how many were left out.
- Without expected_messages, or with a trajectory that has no transcript (plain parts), strict compares the
  flattened calls exactly, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parsers.conventions import message_from_dict
from parsers.span import Message

from ..analysis.calls import ToolCall
from ..analysis.findings import CRITICAL, WARN, Finding
from .matching import call_matcher, deep_equal, max_matching
from .reference import Reference
from .result import EvalResult, make_result
from .trajectory import Trajectory

NAME = "TrajectoryMatch"
OPTIONS = {"mode": "strict", "tool_args_match_mode": "exact", "tool_args_match_overrides": None, "threshold": 1.0}
MODES = ("strict", "unordered", "subset", "superset", "in_order", "exact")
# Which unmatched calls break each mode: expected ones (missing) and/or actual ones (unexpected).
MISSING_FAILS = {"strict", "unordered", "superset", "in_order", "exact"}
UNEXPECTED_FAILS = {"strict", "unordered", "subset", "exact"}
# System prompts: compared when the reference has any (agentevals), else left out with a note (see the docstring).
SYSTEM_ROLES = {"system", "developer"}
MAX_BULLETS = 5  # further unmatched calls are in the findings

Expected = tuple[str, Any, bool]  # (name, args, args given?) as Reference.expected_calls() returns them


def selected_calls(trajectory: Trajectory) -> list[ToolCall]:
    """The tools an LLM chose from its tool list (§8.0): tool spans only, the calls ToolSelectionAccuracy judges."""
    return [call for call in trajectory.tool_calls if call.kind == "tool"]


def path_calls(trajectory: Trajectory) -> list[ToolCall]:
    """The calls a trajectory is matched on: tools and retrievals (a skipped retrieval is the departure a golden
    route must catch). A retriever nested in a tool span never gets here: the analysis counts it as the tool's
    own work."""
    return [call for call in trajectory.tool_calls if call.kind in ("tool", "retriever")]


def show(name: str, args: Any, given: bool = True) -> str:
    """`name{"arg":...}` for explanations; the bare name when arguments are not given (or not recorded)."""
    return ToolCall(name, args, "tool", "unknown", None).describe() if given and args is not None else name


def _show_call(call: ToolCall) -> str:
    return show(call.name, call.args)


def run(
    trajectory: Trajectory,
    reference: Reference,
    *,
    mode: str,
    tool_args_match_mode: Any,
    tool_args_match_overrides: dict[str, Any] | None,
    threshold: float,
) -> EvalResult:
    if mode not in MODES:
        raise ValueError(f"unknown TrajectoryMatch mode {mode!r}: expected one of {', '.join(MODES)}")
    matches = call_matcher(tool_args_match_mode, tool_args_match_overrides)
    title = f"Trajectory ({mode}, args={_args_label(tool_args_match_mode, tool_args_match_overrides)})"
    expected = reference.expected_calls()
    if expected is None:
        return make_result(
            NAME, None, threshold, f"{title}: n/a — the reference has no expected_tool_calls or expected_messages.",
            components={"precision": None, "recall": None},
        )
    transcript = _transcript(trajectory)
    if mode == "strict" and reference.expected_messages is not None and transcript is not None:
        return _strict_messages(trajectory, transcript, reference, matches, title, threshold)
    notes = []
    if mode == "strict":
        notes.append(
            "strict compares messages, but the trajectory has no transcript (no messages, no LLM calls to rebuild them "
            "from): the flattened calls were compared exactly"
            if reference.expected_messages is not None
            else "no expected_messages: strict compared the flattened calls exactly"
        )
    actual = path_calls(trajectory)
    return _compare(actual, expected, "exact" if mode == "strict" else mode, matches, title, threshold, notes=notes)


def _compare(
    actual: list[ToolCall], expected: list[Expected], mode: str, matches: Callable, title: str, threshold: float,
    structure: str | None = None, notes: list[str] | None = None,
) -> EvalResult:
    """Score the flattened calls under `mode`; `structure` is the first message-level difference (strict).
    The explanation's first line gives the verdict and the first reason; further reasons and notes are bullets."""
    items = [(call.name, call.args) for call in actual]
    pairs = max_matching(items, expected, matches)  # expected index -> actual index
    used = set(pairs.values())
    missing = [e for e in range(len(expected)) if e not in pairs] if mode in MISSING_FAILS else []
    unexpected = [i for i in range(len(actual)) if i not in used] if mode in UNEXPECTED_FAILS else []
    in_order, last = _greedy_in_order(items, expected, matches) if mode == "in_order" else (0, -1)
    ok = {
        "unordered": len(pairs) == len(actual) == len(expected),
        "superset": len(pairs) == len(expected),
        "subset": len(pairs) == len(actual),
        "in_order": in_order == len(expected),
        "exact": len(actual) == len(expected) and all(matches(a, e) for a, e in zip(items, expected)),
        "strict": structure is None,
    }[mode]
    findings: list[Finding] = []
    reasons: list[str] = []
    for e in missing:
        near = _nearest(expected[e], items, used, matches)
        text = f"expected {show(*expected[e])} has no matching call" + (
            f"; nearest: {_show_call(actual[near[0]])} ({near[1]})" if near else f" ({expected[e][0]} was never called)"
        )
        reasons.append(text)
        findings.append(Finding("trajectory.missing_call", CRITICAL, text, actual[near[0]].span_id if near else None,
                                {"expected": show(*expected[e])}))
    for i in unexpected:
        near = _nearest_expected(items[i], expected, set(pairs), matches)
        text = f"{_show_call(actual[i])} matches no expected call" + (
            f"; nearest expected: {show(*expected[near[0]])} ({near[1]})" if near else f" (no {actual[i].name} expected)"
        )
        reasons.append(text)
        findings.append(Finding("trajectory.unexpected_call", CRITICAL, text, actual[i].span_id, {"call": _show_call(actual[i])}))
    if not ok and not findings:
        text, span_id = _order_reason(mode, actual, expected, items, matches, pairs, in_order, last, structure)
        reasons.append(text)
        findings.append(Finding("trajectory.order", WARN, text, span_id))
    n_a, n_e, matched = len(actual), len(expected), len(pairs)
    components = {
        "precision": matched / n_a if n_a else (1.0 if not n_e else None),
        "recall": matched / n_e if n_e else (1.0 if not n_a else None),
    }
    if ok:
        summary = _pass_summary(mode, n_a, n_e)
    else:
        head = [f"{n_a} calls vs {n_e} expected"] if mode in ("exact", "unordered") and n_a != n_e else []
        shown = [*head, *([structure] if structure else []), *([] if reasons[0] == structure else reasons[:1])]
        summary = f"FAIL — {'; '.join(shown)}"
        bullets = reasons[1:MAX_BULLETS + 1] + ([f"… and {len(reasons) - 1 - MAX_BULLETS} more"] if len(reasons) > MAX_BULLETS + 1 else [])
        notes = [*bullets, *(notes or [])]
    explanation = f"{title}: {summary}." + "".join(f"\n- {line}" for line in notes or [])
    return make_result(NAME, 1.0 if ok else 0.0, threshold, explanation, findings, components=components)


def _strict_messages(
    trajectory: Trajectory, transcript: list[Message], reference: Reference, matches: Callable, title: str, threshold: float,
) -> EvalResult:
    """agentevals strict: same message count; per index same role, same presence of tool calls, and the two
    messages' calls equal as multisets (order inside a message ignored). Content is never compared."""
    expected_msgs = [m for m in map(message_from_dict, reference.expected_messages or []) if m]
    actual_msgs = list(transcript)
    notes = []
    if not any(m.role in SYSTEM_ROLES for m in expected_msgs):
        left_out = sum(m.role in SYSTEM_ROLES for m in actual_msgs)
        if left_out:
            actual_msgs = [m for m in actual_msgs if m.role not in SYSTEM_ROLES]
            notes.append(f"the reference has no system message: the transcript's {left_out} system message(s) were not compared")
    spans = {call.call_id: call.span_id for call in trajectory.tool_calls if call.call_id}
    structure = None
    for index in range(max(len(actual_msgs), len(expected_msgs))):
        a = actual_msgs[index] if index < len(actual_msgs) else None
        e = expected_msgs[index] if index < len(expected_msgs) else None
        if a is None or e is None or not _same_message(a, e, matches):
            structure = f"message {index + 1} is {_show_message(a)}, expected {_show_message(e)}"
            if len(actual_msgs) != len(expected_msgs):
                structure = f"{len(actual_msgs)} messages vs {len(expected_msgs)} expected; first difference: {structure}"
            break
    actual = [
        ToolCall(r.name, r.arguments, "tool", "unknown", spans.get(r.id), call_id=r.id) for m in actual_msgs for r in m.tool_calls
    ]
    expected = [(r.name, r.arguments, True) for m in expected_msgs for r in m.tool_calls]
    return _compare(actual, expected, "strict", matches, title, threshold, structure, notes)


def _transcript(trajectory: Trajectory) -> list[Message] | None:
    """The messages strict mode compares: the transcript as given, else (a trace) the conversation of the terminal
    LLM call plus its output (§8.3), then a tool message for each call it requested that was executed (joined by
    tool_call_id), so a run that ends on tool results keeps them. None when there is neither."""
    if trajectory.messages is not None:
        return trajectory.messages
    if not trajectory.llm_calls:
        return None
    last = trajectory.llm_calls[-1]
    executed = {call.call_id for call in trajectory.tool_calls if call.call_id and call.status != "unknown"}
    answered = [Message("tool", tool_call_id=r.id) for r in last.requested_tool_calls if r.id in executed]
    return [*last.input_messages, *last.output_messages, *answered]


def _same_message(a: Message, e: Message, matches: Callable) -> bool:
    if a.role != e.role or bool(a.tool_calls) != bool(e.tool_calls):
        return False
    items = [(r.name, r.arguments) for r in a.tool_calls]
    expected = [(r.name, r.arguments, True) for r in e.tool_calls]
    return len(items) == len(expected) == len(max_matching(items, expected, matches))


def _show_message(message: Message | None) -> str:
    if message is None:
        return "missing"
    calls = ", ".join(show(r.name, r.arguments) for r in message.tool_calls)
    return f"{message.role}[{calls}]" if calls else message.role


def _greedy_in_order(items: list, expected: list[Expected], matches: Callable) -> tuple[int, int]:
    """Embed `expected` as a subsequence of `items`, each at its earliest possible position (optimal for
    existence). Returns how many expected calls were placed and the actual index of the last one (-1 if none)."""
    position, last = 0, -1
    for placed, call in enumerate(expected):
        while position < len(items) and not matches(items[position], call):
            position += 1
        if position == len(items):
            return placed, last
        last, position = position, position + 1
    return len(expected), last


def _order_reason(
    mode: str, actual: list[ToolCall], expected: list[Expected], items: list, matches: Callable,
    pairs: dict[int, int], placed: int, last: int, structure: str | None,
) -> tuple[str, str | None]:
    """Every call has a partner, yet the ordered mode fails: say where the order (or message layout) breaks."""
    if mode == "in_order":
        j = placed  # every call matching expected[j] lies at or before `last` (greedy searched everything after it)
        return (
            f"calls out of order: expected {show(*expected[j])} after {_show_call(actual[last])} (call {last + 1}), "
            f"but it was only called before (call {pairs[j] + 1})",
            actual[pairs[j]].span_id,
        )
    if mode == "exact":
        i = next(i for i, (a, e) in enumerate(zip(items, expected)) if not matches(a, e))
        return (f"calls out of order: call {i + 1} is {_show_call(actual[i])}, expected {show(*expected[i])}", actual[i].span_id)
    return structure, None  # strict: the calls all match, the messages around them do not


def _nearest(call: Expected, items: list, used: set[int], matches: Callable) -> tuple[int, str] | None:
    """The actual call most like an unmatched expected one (same name, fewest differing arguments, unused first)."""
    candidates = [i for i, (name, _) in enumerate(items) if name == call[0]]
    if not candidates:
        return None
    best = min(candidates, key=lambda i: (i in used, _distance(items[i][1], call[1]), i))
    if matches(items[best], call):
        return best, "already matched to another expected call"
    return best, _why(items[best][1], call[1])


def _nearest_expected(item: tuple[str, Any], expected: list[Expected], used: set[int], matches: Callable) -> tuple[int, str] | None:
    candidates = [e for e, call in enumerate(expected) if call[0] == item[0]]
    if not candidates:
        return None
    best = min(candidates, key=lambda e: (e in used, _distance(item[1], expected[e][1]), e))
    if matches(item, expected[best]):
        return best, "already matched by another call"
    return best, _why(item[1], expected[best][1])


def _why(actual: Any, expected: Any) -> str:
    path = first_difference(actual, expected)
    if path:
        return f'args differ at "{path}"'
    return "args rejected by the matcher" if deep_equal(actual, expected) else "args differ"


def first_difference(actual: Any, expected: Any, path: str = "") -> str | None:
    """Dotted path of the first differing argument (expected's key order, then actual's extra keys)."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        for key in [*expected, *(k for k in actual if k not in expected)]:
            if key not in actual or key not in expected or not deep_equal(actual[key], expected[key]):
                return first_difference(actual.get(key), expected.get(key), f"{path}.{key}" if path else str(key))
        return None
    return None if deep_equal(actual, expected) else (path or None)


def _distance(actual: Any, expected: Any) -> int:
    if isinstance(actual, dict) and isinstance(expected, dict):
        return sum(1 for k in actual.keys() | expected.keys() if k not in actual or k not in expected or not deep_equal(actual[k], expected[k]))
    return 0 if deep_equal(actual, expected) else 1


def _pass_summary(mode: str, n_actual: int, n_expected: int) -> str:
    if not n_actual and not n_expected and mode != "strict":  # strict compared messages, with or without calls
        return "PASS — no calls, none expected"
    return "PASS — " + {
        "strict": "roles and tool calls match message by message",
        "unordered": f"the {n_actual} calls match the {n_expected} expected (any order)",
        "superset": f"all {n_expected} expected calls found among {n_actual} calls",
        "subset": f"all {n_actual} calls are among the {n_expected} expected",
        "in_order": f"the {n_expected} expected calls appear in order among {n_actual} calls",
        "exact": f"the {n_actual} calls match the expected sequence",
    }[mode]


def _args_label(mode: Any, overrides: dict[str, Any] | None) -> str:
    def label(value: Any) -> str:
        if callable(value):
            return "custom"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(value) + "]"
        return str(value)

    extra = "".join(f", {name}={label(value)}" for name, value in (overrides or {}).items())
    return label(mode) + extra

