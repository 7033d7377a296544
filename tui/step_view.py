"""What the step tree shows of a trace: every step, or (`z`) the steps a person triages, with the framework's
plumbing folded away; and which steps match a search (`/` in the step tree).

Frameworks wrap each model call in prompt templates, output parsers, routers and one-child chains, and record
conditional edges as chains that call nothing; in a LangChain trace they are most of the rows. Hiding them keeps LLM calls, tools, retrievers, agents and hand-offs, and gives
each kept step the nearest kept ancestor as its parent. A plumbing step that failed or carries a warn/critical
finding is kept: hiding it would hide the ✗ or the flag.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from orchtui.analysis import TraceAnalysis
from orchtui.analysis.tree import PLACEHOLDER_ID, walk_depth_first
from parsers.span import ERROR, Span

KEPT_KINDS = frozenset({"llm", "tool", "retriever", "reranker", "embedding", "agent", "handoff", "guardrail", "evaluator"})
PLUMBING_NAME = re.compile(r"prompt|template|parser|router|route|runnable|sequence|passthrough|lambda|assign|format", re.I)
SEARCH_CHARS = 200_000  # of one value searched: a megabyte prompt is searched in its first 200k characters
MAX_DEPTH = 64  # of nested attribute values searched


def is_plumbing(span: Span, analysis: TraceAnalysis, children: int) -> bool:
    if span.kind in KEPT_KINDS or span.status == ERROR:
        return False
    if any(f.severity != "info" for f in analysis.findings_by_span.get(span.span_id, ())):
        return False
    # a template, parser or router by name; a wrapper of one step; a leaf that calls nothing (a conditional edge)
    return bool(PLUMBING_NAME.search(span.name)) or children <= 1 or span.kind == "other"


class TreeView:
    """The shape the widget draws: `top_level`, `children`, `walk()` and `parent_of()` as on the analysis' tree."""

    def __init__(self, analysis: TraceAnalysis, hide_plumbing: bool) -> None:
        tree = self._tree = analysis.tree
        self.spans = tree.spans
        self.top_level: list[str] = tree.top_level
        self.children: dict[str, list[str]] = tree.children
        self._parent: dict[str, str] | None = None
        self.hidden = 0
        if hide_plumbing:
            self._fold(analysis)

    def _fold(self, analysis: TraceAnalysis) -> None:
        tree = self._tree
        top_level: list[str] = []
        children: dict[str, list[str]] = {}
        parent: dict[str, str] = {}
        # Preorder with the nearest kept ancestor carried down: kept steps attach to it, hidden ones pass it on.
        stack: list[tuple[str, str | None]] = [(node, None) for node in reversed(tree.top_level)]
        while stack:
            node, kept_parent = stack.pop()
            kids = tree.children.get(node, ())
            keep = node == PLACEHOLDER_ID or not is_plumbing(tree.spans[node], analysis, len(kids))
            if keep:
                if kept_parent is None:
                    top_level.append(node)
                else:
                    children.setdefault(kept_parent, []).append(node)
                    parent[node] = kept_parent
                kept_parent = node
            else:
                self.hidden += 1
            stack.extend((kid, kept_parent) for kid in reversed(kids))
        if top_level:  # a trace of plumbing only is shown whole rather than as nothing
            self.top_level, self.children, self._parent = top_level, children, parent
        else:
            self.hidden = 0

    def walk(self) -> Iterator[tuple[str, int]]:
        return walk_depth_first(self.top_level, self.children)

    def parent_of(self, span_id: str) -> str | None:
        return self._tree.parent_of(span_id) if self._parent is None else self._parent.get(span_id)

    def shows(self, span_id: str) -> bool:
        return self._parent is None or span_id in self._parent or span_id in self.top_level


def _texts(value: Any, depth: int = 0) -> Iterator[str]:
    if value is None or depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        yield value[:SEARCH_CHARS]
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item, depth + 1)
    else:
        yield str(value)


def span_texts(span: Span) -> Iterator[str]:
    """What `/` in the step tree searches: name, tool, model, attribute values and message text."""
    yield span.name
    yield from _texts([span.tool_name, span.model, span.agent_name, span.status_message, span.input, span.output])
    yield from _texts(span.tool_args)
    yield from _texts(span.attributes)
    for message in span.messages:
        yield from _texts(message.content)
        for call in message.tool_calls:
            yield from _texts([getattr(call, "name", None), getattr(call, "arguments", None)])


def search(view: TreeView, analysis: TraceAnalysis, query: str) -> list[str]:
    """Span ids matching `query` (case-insensitive substring), in display order of `view`."""
    needle = query.casefold()
    if not needle:
        return []
    spans = analysis.tree.spans
    return [
        span_id
        for span_id, _ in view.walk()
        if span_id != PLACEHOLDER_ID and any(needle in text.casefold() for text in span_texts(spans[span_id]))
    ]
