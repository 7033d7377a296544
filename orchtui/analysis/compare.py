"""Two runs side by side: steps aligned on their signature, and what the second run did differently.

A debugging question is rarely "is this run bad?" but "where did it leave the path the good run took?". Both runs
become step lists (`steps.py`), aligned by a longest common subsequence of their *slots*: a tool, retriever,
hand-off or agent step by kind and name, every LLM call as one slot (so a call served by another model still
aligns, and the model change is reported instead of a skip plus an extra). Against a gate file's golden route, the
slots are tool and retriever names only, because that is all a golden route records.

The LCS comes from Myers' O(ND) difference algorithm: exact, and near-linear when two runs mostly agree (the usual
case). Above `MAX_EDIT_DISTANCE` differences a windowed greedy alignment takes over, linear in the step count, and
the comparison says it is approximate. Steps that are not in the common subsequence are then classified:

- moved: the same slot is unmatched on both sides (reordered steps), shown at B's position;
- repeated: a B step whose slot A also took (B did it more often, e.g. `lookup_policy` 4x instead of once);
- extra: a B step whose slot A never took;
- skipped: an A step B did not take (a `retrieve_policy` the good run had).

Aligned and moved pairs report changed tool arguments, models and statuses. Deltas are B minus A per row, a
missing side counting as zero, so a skipped step's delta is what B saved and an extra step's what it cost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from parsers.span import LLM, RETRIEVER, TOOL

from ..formatting import KIND_ICONS, format_cost_delta, format_duration_delta
from .calls import canonical_json
from .steps import Step, step_signature, trace_steps

SAME, CHANGED, SKIPPED, EXTRA, REPEATED, MOVED = "same", "changed", "skipped", "extra", "repeated", "moved"
OPS = (SAME, CHANGED, SKIPPED, EXTRA, REPEATED, MOVED)
DIFFERENT = (CHANGED, SKIPPED, EXTRA, REPEATED, MOVED)
MAX_EDIT_DISTANCE = 1000  # Myers beyond this is O(D^2) time and memory; the greedy fallback is linear
GREEDY_WINDOW = 64
VALUE_WIDTH = 40
JSON_VERSION = 1


@dataclass(frozen=True, slots=True)
class Side:
    """One of the two runs: a trace, or a golden route (no trace id, no numbers)."""

    label: str
    trace_id: str | None
    steps: list[Step]
    duration_ms: float | None = None
    tokens: int | None = None
    cost_usd: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "trace_id": self.trace_id, "steps": len(self.steps), "duration_ms": self.duration_ms,
                "tokens": self.tokens, "cost_usd": self.cost_usd}


@dataclass(frozen=True, slots=True)
class StepDiff:
    """One row of a comparison; indexes are 1-based positions in each side's step list."""

    op: str
    a: Step | None
    b: Step | None
    a_index: int | None
    b_index: int | None
    changes: tuple[str, ...] = ()
    tokens_delta: int | None = None
    cost_delta: float | None = None
    duration_delta_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "a": _step_json(self.a),
            "b": _step_json(self.b),
            "a_index": self.a_index,
            "b_index": self.b_index,
            "changes": list(self.changes),
            "tokens_delta": self.tokens_delta,
            "cost_delta_usd": None if self.cost_delta is None else round(self.cost_delta, 8),
            "duration_delta_ms": None if self.duration_delta_ms is None else round(self.duration_delta_ms, 3),
        }


@dataclass
class Comparison:
    a: Side
    b: Side
    rows: list[StepDiff]
    golden: bool = False  # A is a gate file's golden route
    approximate: bool = False  # aligned by the greedy fallback, not an exact LCS
    counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.counts = {op: 0 for op in OPS}
        for row in self.rows:
            self.counts[row.op] += 1

    @property
    def a_label(self) -> str:
        return self.a.label

    @property
    def b_label(self) -> str:
        return self.b.label

    @property
    def differs(self) -> bool:
        return any(self.counts[op] for op in DIFFERENT)

    def named(self, op: str) -> list[str]:
        """`⌕ retrieve_policy` for each row with this op, in row order (B's step where it has one)."""
        return [glyph_name(row.b or row.a) for row in self.rows if row.op == op]  # type: ignore[arg-type]

    def summary(self) -> str:
        """One line: how B departs from A, then the trace-level deltas."""
        parts = []
        for op in DIFFERENT:
            names = self.named(op)
            if names:
                shown = ", ".join(dict.fromkeys(names))
                parts.append(f"{len(names)} {op} ({_clip(shown, 60)})")
        verdict = "; ".join(parts) if parts else "same steps"
        deltas = [
            text
            for text in (
                _signed(_delta(self.a.tokens, self.b.tokens), lambda v: f"{v:+,} tokens"),
                _signed(_delta(self.a.cost_usd, self.b.cost_usd), format_cost_delta),
                _signed(_delta(self.a.duration_ms, self.b.duration_ms), format_duration_delta),
            )
            if text
        ]
        totals = f" · B vs A: {', '.join(deltas)}" if deltas else ""
        return f"{len(self.b.steps)} steps vs {len(self.a.steps)}: {verdict}{totals}"

    def with_golden_kinds(self, runs: Iterable[Any]) -> Comparison:
        """This comparison with each golden route step in the kind that `runs` (other traces of B's route, as
        TraceAnalysis) gave it; B's own steps win. A golden route records names only, so a retriever B skipped
        would otherwise show with the tool glyph in the summary and the table."""
        if not self.golden:
            return self
        kinds = {name: kind for run in runs for kind, name in step_signature(run) if kind in (TOOL, RETRIEVER)}
        kinds.update((step.name, step.kind) for step in self.b.steps)
        retyped = {id(step): _in_kind(step, kinds) for step in self.a.steps}
        rows = [replace(row, a=retyped[id(row.a)]) if row.a is not None else row for row in self.rows]
        a = replace(self.a, steps=[retyped[id(step)] for step in self.a.steps])
        return Comparison(a, self.b, rows, golden=True, approximate=self.approximate)

    def to_json(self) -> dict[str, Any]:
        """The `orchtui diff --json` document (README: `orchtui diff`)."""
        return {
            "version": JSON_VERSION,
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "golden": self.golden,
            "approximate": self.approximate,
            "differs": self.differs,
            "counts": dict(self.counts),
            "summary": self.summary(),
            "rows": [row.to_json() for row in self.rows],
        }


def glyph_name(step: Step) -> str:
    """`◆ gpt-4o`, `▣ lookup_order`: a step as the comparison tables show it."""
    return f"{KIND_ICONS.get(step.kind, KIND_ICONS['other'])[0]} {step.name}"


# -- building the sides ----------------------------------------------------------------------------------------------


def trace_side(analysis: Any) -> Side:
    """A side from an analysed trace (TraceAnalysis)."""
    return Side(f"{analysis.name} {analysis.trace_id[:8]}", analysis.trace_id, trace_steps(analysis), analysis.duration_ms,
                analysis.tokens.total, analysis.cost_usd)


def golden_side(match: str, expected_tool_calls: list[dict[str, Any]], kinds: Mapping[str, str] | None = None) -> Side:
    """A side from a gate route's expected tool calls (names, and arguments where the route gives them). The route
    records no kinds: a step is in the kind `kinds` (name -> kind, from runs of the route) gives its name, else a
    tool."""
    kinds = kinds or {}
    steps = [Step(kinds.get(str(call["name"]), TOOL), str(call["name"]), None, call.get("args"), "unset") for call in expected_tool_calls]
    return Side(f"golden route {match}", None, steps)


def _in_kind(step: Step, kinds: Mapping[str, str]) -> Step:
    kind = kinds.get(step.name, step.kind)
    return step if kind == step.kind else replace(step, kind=kind)


# -- comparing -------------------------------------------------------------------------------------------------------


def compare_traces(a: Any, b: Any) -> Comparison:
    """B (a TraceAnalysis) against A (another): every step kind, LLM calls aligned as one slot."""
    return compare(trace_side(a), trace_side(b))


def compare_with_golden(match: str, expected_tool_calls: list[dict[str, Any]], b: Any, compare_args: bool = False) -> Comparison:
    """B against a golden route: only B's tool and retriever steps take part (all a golden route records), and
    the route's steps take the kinds B gave them (`Comparison.with_golden_kinds` adds other runs')."""
    side = trace_side(b)
    tools = Side(side.label, side.trace_id, [s for s in side.steps if s.kind in (TOOL, RETRIEVER)], side.duration_ms, side.tokens, side.cost_usd)
    kinds = {step.name: step.kind for step in tools.steps}
    return compare(golden_side(match, expected_tool_calls, kinds), tools, golden=True, compare_args=compare_args)


def compare(a: Side, b: Side, golden: bool = False, compare_args: bool = True) -> Comparison:
    slot = _name_slot if golden else _slot
    a_slots = [slot(step) for step in a.steps]
    b_slots = [slot(step) for step in b.steps]
    pairs, approximate = align(a_slots, b_slots)
    rows = _rows(a.steps, b.steps, a_slots, b_slots, pairs, compare_args)
    return Comparison(a, b, rows, golden=golden, approximate=approximate)


def _slot(step: Step) -> str:
    return LLM if step.kind == LLM else step.key


def _name_slot(step: Step) -> str:
    return step.name


def align(a: list[str], b: list[str]) -> tuple[list[tuple[int, int]], bool]:
    """Index pairs (i, j) with a[i] == b[j], increasing in both: a longest common subsequence, or (second value
    True) a greedy approximation when the sequences differ in more than MAX_EDIT_DISTANCE places."""
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    head = [(i, i) for i in range(start)]
    tail = [(end_a + k, end_b + k) for k in range(len(a) - end_a)]
    middle_a, middle_b = a[start:end_a], b[start:end_b]
    middle = myers_pairs(middle_a, middle_b, MAX_EDIT_DISTANCE)
    approximate = middle is None
    if middle is None:
        middle = greedy_pairs(middle_a, middle_b, GREEDY_WINDOW)
    return head + [(i + start, j + start) for i, j in middle] + tail, approximate


def myers_pairs(a: list[str], b: list[str], max_distance: int) -> list[tuple[int, int]] | None:
    """The matched pairs of a shortest edit script (Myers 1986), or None when it needs more than `max_distance`
    insertions and deletions. Keeps each edit distance's frontier to walk the path back."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return []
    frontier = {1: 0}  # diagonal k (= x - y) -> furthest x reached on it
    history: list[dict[int, int]] = []  # history[d]: the frontier after d - 1 edits
    for d in range(min(n + m, max_distance) + 1):
        history.append(frontier)
        current: dict[int, int] = {}
        for k in range(-d, d + 1, 2):
            x = frontier[k + 1] if _came_down(frontier, k, d) else frontier[k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            current[k] = x
            if x == n and y == m:
                return _walk_back(history, n, m, d)
        frontier = current
    return None


def _came_down(frontier: dict[int, int], k: int, d: int) -> bool:
    """Whether the best path onto diagonal k at distance d is an insertion (a step down from k + 1)."""
    return k == -d or (k != d and frontier[k - 1] < frontier[k + 1])


def _walk_back(history: list[dict[int, int]], n: int, m: int, distance: int) -> list[tuple[int, int]]:
    """The diagonal (matching) moves of the path that reached (n, m) after `distance` edits, in order."""
    pairs: list[tuple[int, int]] = []
    x, y = n, m
    for d in range(distance, 0, -1):
        frontier = history[d]
        k = x - y
        down = _came_down(frontier, k, d)
        previous_x = frontier[k + 1] if down else frontier[k - 1]
        previous_y = previous_x - (k + 1 if down else k - 1)
        edit_x, edit_y = (previous_x, previous_y + 1) if down else (previous_x + 1, previous_y)
        while x > edit_x and y > edit_y:
            pairs.append((x - 1, y - 1))
            x -= 1
            y -= 1
        x, y = previous_x, previous_y
    while x > 0 and y > 0:
        pairs.append((x - 1, y - 1))
        x -= 1
        y -= 1
    pairs.reverse()
    return pairs


def greedy_pairs(a: list[str], b: list[str], window: int) -> list[tuple[int, int]]:
    """A linear-time alignment for very different long runs: match equal slots in step, else skip ahead on the
    side whose next match (within `window` steps) is nearer."""
    pairs = []
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            pairs.append((i, j))
            i += 1
            j += 1
            continue
        ahead_b = _find(b, a[i], j + 1, window)
        ahead_a = _find(a, b[j], i + 1, window)
        if ahead_b is not None and (ahead_a is None or ahead_b - j <= ahead_a - i):
            j = ahead_b
        elif ahead_a is not None:
            i = ahead_a
        else:
            i += 1
            j += 1
    return pairs


def _find(items: list[str], value: str, start: int, window: int) -> int | None:
    for index in range(start, min(len(items), start + window)):
        if items[index] == value:
            return index
    return None


# -- rows ------------------------------------------------------------------------------------------------------------


def _rows(
    a: list[Step], b: list[Step], a_slots: list[str], b_slots: list[str], pairs: list[tuple[int, int]], compare_args: bool
) -> list[StepDiff]:
    """Merge both step lists in alignment order (between two aligned pairs: A's leftovers, then B's), then pair
    leftovers of the same slot as moves and name the rest."""
    order: list[tuple[int | None, int | None]] = []
    i = j = 0
    for pi, pj in [*pairs, (len(a), len(b))]:
        order.extend((index, None) for index in range(i, pi))
        order.extend((None, index) for index in range(j, pj))
        if pi < len(a):
            order.append((pi, pj))
        i, j = pi + 1, pj + 1
    moved_from = _moves(order, a_slots, b_slots)
    moved_a = set(moved_from.values())
    a_taken = set(a_slots)
    rows = []
    for ai, bi in order:
        if ai is not None and bi is not None:
            rows.append(_pair_row(SAME, a, b, ai, bi, compare_args))
        elif bi is not None and bi in moved_from:
            ai = moved_from[bi]
            rows.append(_pair_row(MOVED, a, b, ai, bi, compare_args, note=f"A step {ai + 1} -> B step {bi + 1}"))
        elif bi is not None:
            op = REPEATED if b_slots[bi] in a_taken else EXTRA
            rows.append(_single_row(op, None, b[bi], None, bi + 1))
        elif ai not in moved_a:
            rows.append(_single_row(SKIPPED, a[ai], None, ai + 1, None))  # type: ignore[index,operator]
    return rows


def _moves(order: list[tuple[int | None, int | None]], a_slots: list[str], b_slots: list[str]) -> dict[int, int]:
    """B index -> A index for leftovers whose slot is left over on both sides: the same step, reordered."""
    waiting: dict[str, deque[int]] = {}
    for ai, bi in order:
        if bi is None and ai is not None:
            waiting.setdefault(a_slots[ai], deque()).append(ai)
    moves = {}
    for ai, bi in order:
        if ai is None and bi is not None and waiting.get(b_slots[bi]):
            moves[bi] = waiting[b_slots[bi]].popleft()
    return moves


def _pair_row(op: str, a: list[Step], b: list[Step], ai: int, bi: int, compare_args: bool, note: str | None = None) -> StepDiff:
    """Two aligned (or moved) steps; a same step with changes is `changed`."""
    left, right = a[ai], b[bi]
    changes = step_changes(left, right, compare_args)
    if op == SAME and changes:
        op = CHANGED
    return StepDiff(op, left, right, ai + 1, bi + 1, (*([note] if note else []), *changes), _delta(left.tokens, right.tokens),
                    _delta(left.cost_usd, right.cost_usd), _delta(left.duration_ms, right.duration_ms))


def _single_row(op: str, a: Step | None, b: Step | None, a_index: int | None, b_index: int | None) -> StepDiff:
    """A step on one side only: its numbers count against a zero on the other side."""
    step = a if a is not None else b
    sign = -1 if a is not None else 1
    assert step is not None

    def signed(value: float | None) -> Any:
        return None if value is None else sign * value

    return StepDiff(op, a, b, a_index, b_index, (), signed(step.tokens), signed(step.cost_usd), signed(step.duration_ms))


def step_changes(a: Step, b: Step, compare_args: bool = True) -> list[str]:
    """What differs between two aligned steps: model, status, tool arguments (key by key for objects)."""
    changes = []
    if a.kind == LLM and b.kind == LLM and a.name != b.name:
        changes.append(f"model {a.name} -> {b.name}")
    # A golden route's steps have no status ("unset"): a failed step there is a status, not a change from it.
    if a.status != b.status and "error" in (a.status, b.status) and a.status != "unset":
        changes.append(f"status {a.status} -> {b.status}")
    if compare_args and a.kind != LLM and a.args is not None and canonical_json(a.args) != canonical_json(b.args):
        changes.extend(argument_changes(a.args, b.args))
    return changes


def argument_changes(a: Any, b: Any) -> list[str]:
    """`args.query: "refund policy" -> "refunds"` per differing top-level key; whole values otherwise."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [f"args {_value(a)} -> {_value(b)}"]
    changes = []
    for key in list(a) + [k for k in b if k not in a]:
        if key not in b:
            changes.append(f"args.{key} removed (was {_value(a[key])})")
        elif key not in a:
            changes.append(f"args.{key} added: {_value(b[key])}")
        elif canonical_json(a[key]) != canonical_json(b[key]):
            changes.append(f"args.{key}: {_value(a[key])} -> {_value(b[key])}")
    return changes


def _value(value: Any) -> str:
    return _clip(canonical_json(value), VALUE_WIDTH)


def _step_json(step: Step | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {"kind": step.kind, "name": step.name, "key": step.key, "span_id": step.span_id, "args": step.args,
            "status": step.status, "executed": step.executed, "tokens": step.tokens, "cost_usd": step.cost_usd,
            "duration_ms": step.duration_ms}


def _delta(a: float | None, b: float | None) -> Any:
    return None if a is None or b is None else b - a


def _signed(value: float | None, show) -> str:
    return "" if value is None or value == 0 else show(value)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
