"""The step tree of one trace: parent/child links that survive real-world damage.

Real span sets arrive incomplete and sometimes inconsistent: children before parents, parents that never arrive
(orphans), parent links that form a cycle, and pathological depth. Orphans and cycle members hang under one
placeholder node instead of vanishing, and every walk is iterative, so a 10,000-level chain neither recurses nor
hangs.

Children are ordered by start time, then end time, then arrival order (the promptfoo ordering rule that the
evaluators share).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from parsers.span import Span

# The id of the synthetic node that adopts orphans and cycle members. Not a valid id in any format we read.
PLACEHOLDER_ID = "\x00missing-parent"

_NEVER = float("inf")


def order_key(span: Span, arrival: int) -> tuple[float, float, int]:
    start = span.start_ns if span.start_ns is not None else _NEVER
    end = span.end_ns if span.end_ns is not None else _NEVER
    return (start, end, arrival)


@dataclass(slots=True)
class StepTree:
    """Spans of one trace linked into a forest, with a placeholder for what has no reachable root."""

    spans: dict[str, Span]
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)  # parent (or PLACEHOLDER_ID) -> ordered ids
    roots: list[str] = field(default_factory=list)  # real roots (no parent), ordered
    orphans: list[str] = field(default_factory=list)  # spans whose parent never arrived
    cycle_members: list[str] = field(default_factory=list)  # spans re-attached to break a parent cycle
    ordered: list[Span] = field(default_factory=list)  # every span in start order
    adopted: frozenset[str] = frozenset()  # orphans and cycle members: children of the placeholder

    @property
    def top_level(self) -> list[str]:
        """What the tree shows at depth 0: the roots, then the placeholder when anything needed it."""
        if self.orphans or self.cycle_members:
            return [*self.roots, PLACEHOLDER_ID]
        return list(self.roots)

    @property
    def root(self) -> Span | None:
        """The trace's main root: the earliest real root, else the earliest adopted span."""
        if self.roots:
            return self.spans[self.roots[0]]
        adopted = self.children.get(PLACEHOLDER_ID)
        return self.spans[adopted[0]] if adopted else None

    def walk(self) -> Iterator[tuple[str, int]]:
        """(span id or PLACEHOLDER_ID, depth) in display order, depth-first, without recursion."""
        return walk_depth_first(self.top_level, self.children)

    def depth_of(self, span_id: str) -> int:
        depth = 0
        node = self.parent_of(span_id)
        while node is not None:
            depth += 1
            node = self.parent_of(node)
        return depth

    def parent_of(self, span_id: str) -> str | None:
        """The parent as displayed (PLACEHOLDER_ID for adopted spans, None for roots and the placeholder)."""
        if span_id == PLACEHOLDER_ID:
            return None
        if span_id in self.adopted:
            return PLACEHOLDER_ID
        return self.spans[span_id].parent_id


def build_tree(spans: tuple[Span, ...] | list[Span], by_id: dict[str, Span] | None = None) -> StepTree:
    """Link `spans` (one trace) into a StepTree in O(n log n). `by_id`, the same spans by id in the same order
    (the store's own index, never changed afterwards), becomes the tree's index instead of a copy."""
    if by_id is None:
        by_id = {span.span_id: span for span in spans}
    # Each span's sort key made once: sorting then asks a dict (in C), not a Python function per comparison key.
    keys = {span_id: order_key(span, arrival) for arrival, (span_id, span) in enumerate(by_id.items())}
    tree = StepTree(spans=by_id)
    children = tree.children
    for span_id, span in by_id.items():
        parent = span.parent_id
        if parent is None or parent == span_id:
            if parent == span_id:
                tree.cycle_members.append(span_id)
            else:
                tree.roots.append(span_id)
        elif parent in by_id:
            children.setdefault(parent, []).append(span_id)
        else:
            tree.orphans.append(span_id)

    # Spans on a parent cycle are unreachable from any root or orphan: find them and break the cycle.
    reachable: set[str] = set()
    stack = [*tree.roots, *tree.orphans, *tree.cycle_members]
    while stack:
        node = stack.pop()
        if node in reachable:
            continue
        reachable.add(node)
        stack.extend(children.get(node, ()))
    if len(reachable) < len(by_id):
        _break_cycles(tree, reachable, {span_id: arrival for arrival, span_id in enumerate(by_id)})

    key = keys.__getitem__
    for parent, kids in children.items():  # tuples from here on: a trace holds about one per two spans
        children[parent] = tuple(sorted(kids, key=key))
    tree.roots.sort(key=key)
    adopted = sorted([*tree.orphans, *tree.cycle_members], key=key)
    if adopted:
        children[PLACEHOLDER_ID] = tuple(adopted)
        tree.adopted = frozenset(adopted)
    tree.ordered = [by_id[span_id] for span_id in sorted(by_id, key=key)]
    return tree


def _break_cycles(tree: StepTree, reachable: set[str], arrival: dict[str, int]) -> None:
    """Each unreachable group contains a cycle: detach its earliest span and adopt it under the placeholder."""
    by_id = tree.spans
    children = tree.children
    for span_id in sorted((s for s in by_id if s not in reachable), key=arrival.__getitem__):
        if span_id in reachable:
            continue
        # Follow parents to the cycle, then cut the earliest-arrived member's link.
        seen: list[str] = []
        seen_set: set[str] = set()
        node: str | None = span_id
        while node is not None and node not in seen_set and node not in reachable:
            seen.append(node)
            seen_set.add(node)
            node = by_id[node].parent_id
        if node is None or node in reachable:
            continue
        cycle = seen[seen.index(node) :]
        cut = min(cycle, key=arrival.__getitem__)
        parent = by_id[cut].parent_id
        if parent is not None and cut in children.get(parent, ()):
            children[parent] = [kid for kid in children[parent] if kid != cut]
        tree.cycle_members.append(cut)
        stack = [cut]
        while stack:
            current = stack.pop()
            if current in reachable:
                continue
            reachable.add(current)
            stack.extend(children.get(current, ()))


def walk_depth_first(top_level: list[str], children: dict[str, tuple[str, ...]] | dict[str, list[str]]) -> Iterator[tuple[str, int]]:
    """(node, depth) in display order, depth-first, without recursion (10,000-deep chains are real): shared by the
    trace's tree and the UI's filtered views of it."""
    stack = [(node, 0) for node in reversed(top_level)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        kids = children.get(node)
        if kids:
            stack.extend((kid, depth + 1) for kid in reversed(kids))
