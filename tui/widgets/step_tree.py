"""The step tree of the selected trace: collapsible, built lazily, highlighted where something went wrong.

Nodes are created only for what can be opened: a collapsed step knows it has children (`allow_expand`) but builds
them on first expand, and a big trace opens only as many levels as fit AUTO_EXPAND_NODES. A node starts with a
brief label (icon and name) and gets its full, width-fitted label the first time the tree draws it, so opening a
step with thousands of children costs the nodes, not thousands of Rich labels. Labels are `rich.text.Text` (never
markup strings: span names are data). When the trace grows live, the tree is rebuilt keeping what was expanded
and where the cursor was.

What is drawn is a `TreeView` of the trace (tui/step_view.py): the whole tree, or with `z` the steps without the
framework's plumbing. `/` searches the steps; while a search is active `n`/`N` go to the next/previous match
instead of the next/previous flagged step, and esc ends it.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from orchtui.analysis import TraceAnalysis
from orchtui.analysis.tree import PLACEHOLDER_ID
from parsers.conventions import is_stream_chunk

from ..render import brief_step_label, placeholder_label, step_label
from ..step_view import TreeView

AUTO_EXPAND_SPANS = 400  # traces up to this size open fully
AUTO_EXPAND_NODES = 300  # bigger ones open their top level, then further levels while this many nodes suffice
EXPAND_ALL_LIMIT = 20_000  # `]` builds at most this many nodes


class StepTree(Tree[str]):
    DEFAULT_CSS = """
    StepTree { background: $surface; }
    """
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="steps.down"),
        Binding("k", "cursor_up", "Up", show=False, id="steps.up"),
        Binding("h", "collapse", "Collapse", show=False, id="steps.collapse"),
        Binding("l", "expand", "Expand", show=False, id="steps.expand"),
        Binding("left_square_bracket", "collapse_all", "Collapse all", id="steps.collapse_all", key_display="["),
        Binding("right_square_bracket", "expand_all", "Expand all", id="steps.expand_all", key_display="]"),
        Binding("slash", "app.search_steps", "Search", key_display="/", id="steps.search"),
        Binding("n", "next_match", "Next match", id="steps.next_match"),
        Binding("N", "previous_match", "Prev match", id="steps.prev_match"),
        Binding("escape", "end_search", "End search", id="steps.end_search"),
        Binding("n", "next_flagged", "Next flag", id="steps.next_flag"),
        Binding("N", "previous_flagged", "Prev flag", id="steps.prev_flag"),
        Binding("g", "scroll_home", "Top", show=False, id="steps.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="steps.bottom"),
    ]

    class StepHighlighted(Message):
        def __init__(self, span_id: str | None) -> None:
            super().__init__()
            self.span_id = span_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("trace", id=id)
        self.show_root = False
        self.guide_depth = 3
        self.analysis: TraceAnalysis | None = None
        self.view: TreeView | None = None
        self.hide_plumbing = False
        self.matches: list[str] | None = None  # the active search's hits, in display order; None: no search
        # n/N pressed while the search's hits were still being found (typed fast after enter): applied when they come
        self._pending_moves: int | None = None
        self._pending_query: Callable[[], str] = str  # the search's text while its hits are awaited
        self._node_of: dict[str, TreeNode[str]] = {}
        self._populated: set[str] = set()
        self._fitted: set[str] = set()  # nodes whose label is the full one for the current width

    # -- building ------------------------------------------------------------------------------------------------

    def show(self, analysis: TraceAnalysis | None) -> None:
        """Display `analysis`; when it is a newer version of the trace on screen, keep expansion and cursor."""
        same_trace = self.analysis is not None and analysis is not None and self.analysis.trace_id == analysis.trace_id
        known = set(self._node_of) if same_trace else set()
        expanded = {span_id for span_id, node in self._node_of.items() if node.is_expanded}
        cursor = self.cursor_node.data if same_trace and self.cursor_node is not None else None
        self.analysis = analysis
        self.view = TreeView(analysis, self.hide_plumbing) if analysis is not None else None
        if not same_trace:
            self.matches = self._pending_moves = None
        self.clear()
        self._node_of.clear()
        self._populated.clear()
        self._fitted.clear()
        if analysis is None:
            return
        small = analysis.span_count <= AUTO_EXPAND_SPANS
        view = self.view
        assert view is not None
        for span_id in view.top_level:
            self._add(self.root, span_id, 0)
        for span_id, depth in view.walk():  # preorder: a parent is built before its children
            node = self._node_of.get(span_id)
            if node is None or not node.allow_expand:
                continue
            # Steps seen before keep their state; new ones (a live trace growing) follow the auto-expand rule.
            if (span_id in expanded) if span_id in known else self._auto_expands(span_id, depth, small):
                self._populate(node)
                node.expand()
        if cursor is not None and cursor in self._node_of:
            self.move_cursor(self._node_of[cursor])
        elif self.root.children:
            self.move_cursor(self.root.children[0])

    def _auto_expands(self, span_id: str, depth: int, small: bool) -> bool:
        """Small traces open fully; big ones their top level, then the second while the node budget allows. A call
        whose children are only the chunks of its streamed answer stays folded."""
        children = self.view.children.get(span_id, ()) if self.view is not None and self.analysis is not None else ()
        if children and all(is_stream_chunk(self.analysis.tree.spans[child]) for child in children):
            return False
        if small or depth == 0:
            return True
        return depth < 2 and len(self._node_of) + len(children) <= AUTO_EXPAND_NODES

    def _add(self, parent: TreeNode[str], span_id: str, depth: int) -> TreeNode[str]:
        assert self.analysis is not None and self.view is not None
        tree = self.analysis.tree
        kids = self.view.children.get(span_id, ())
        label = placeholder_label(len(kids)) if span_id == PLACEHOLDER_ID else brief_step_label(tree.spans[span_id])
        node = parent.add(label, data=span_id, allow_expand=bool(kids))
        self._node_of[span_id] = node
        return node

    def _populate(self, node: TreeNode[str]) -> None:
        span_id = node.data
        if span_id is None or span_id in self._populated or self.view is None:
            return
        self._populated.add(span_id)
        depth = self._depth(node)
        for child in self.view.children.get(span_id, ()):
            self._add(node, child, depth + 1)

    def _label_width(self) -> int:
        return self.scrollable_content_region.width or 100

    def render_label(self, node: TreeNode[str], base_style, style):
        """The full label, fitted to the width, built when the node is first drawn (see the module docstring)."""
        span_id = node.data
        if span_id is not None and span_id != PLACEHOLDER_ID and span_id not in self._fitted and self.analysis is not None:
            span = self.analysis.tree.spans[span_id]
            # Set directly, not with set_label: this runs while the line is drawn, and must not ask for a redraw.
            node._label = step_label(span, self.analysis, self._depth(node), self._label_width(), node.allow_expand)
            self._fitted.add(span_id)
        return super().render_label(node, base_style, style)

    def get_label_width(self, node: TreeNode[str]) -> int:
        """The label as it stands (brief, or fitted to the width). Tree would draw every label to find the widest
        line; labels never outgrow the tree's width, so the one already set is measure enough."""
        return node._label.cell_len + (2 if node.allow_expand else 0)

    def on_resize(self) -> None:
        """Labels are fitted to the width: refit them as they are drawn again."""
        self._fitted.clear()
        self.refresh()

    @staticmethod
    def _depth(node: TreeNode[str]) -> int:
        depth = -1
        while node.parent is not None:
            depth += 1
            node = node.parent
        return depth

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        self._populate(event.node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        event.stop()
        self.post_message(self.StepHighlighted(event.node.data))

    def expand_path(self, span_id: str) -> TreeNode[str] | None:
        """Build and open every ancestor of `span_id` so its node exists and is visible."""
        view = self.view
        if self.analysis is None or view is None or span_id not in self.analysis.tree.spans and span_id != PLACEHOLDER_ID:
            return None
        if not view.shows(span_id):  # a folded plumbing step was asked for (a finding, a compare jump): unfold
            self.set_hide_plumbing(False)
            view = self.view
            assert view is not None
        chain = []
        node_id: str | None = span_id
        while node_id is not None:
            chain.append(node_id)
            node_id = view.parent_of(node_id)
        for ancestor in reversed(chain[1:]):
            node = self._node_of.get(ancestor)
            if node is None:
                return None
            self._populate(node)
            node.expand()
        return self._node_of.get(span_id)

    # -- actions -------------------------------------------------------------------------------------------------

    def action_expand(self) -> None:
        if self.cursor_node is not None and self.cursor_node.allow_expand:
            self._populate(self.cursor_node)
            self.cursor_node.expand()

    def action_collapse(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def action_collapse_all(self) -> None:
        for node in self.root.children:
            node.collapse_all()
        if self.root.children:
            self.move_cursor(self.root.children[0])

    def action_expand_all(self) -> None:
        if self.view is None:
            return
        built = 0
        for span_id, _ in self.view.walk():
            node = self._node_of.get(span_id)
            if node is None:
                continue
            self._populate(node)
            if node.allow_expand:
                node.expand()
            built += 1
            if built >= EXPAND_ALL_LIMIT:
                self.notify(f"Expanded the first {EXPAND_ALL_LIMIT:,} steps", severity="warning")
                break

    def flagged_steps(self) -> list[str]:
        """Span ids with a warn or critical finding, in display order."""
        if self.analysis is None or self.view is None:
            return []
        flagged = {
            span_id
            for span_id, findings in self.analysis.findings_by_span.items()
            if any(f.severity != "info" for f in findings)
        }
        return [span_id for span_id, _ in self.view.walk() if span_id in flagged]

    def _jump(self, step: int, targets: list[str] | None = None) -> None:
        flagged = self.flagged_steps() if targets is None else targets
        if not flagged:
            self.notify("No flagged steps in this trace" if targets is None else "No step matches the search")
            return
        current = self.cursor_node.data if self.cursor_node is not None else None
        order = {span_id: index for index, (span_id, _) in enumerate(self.view.walk())} if self.view else {}
        position = order.get(current, -1)
        candidates = [s for s in flagged if (order[s] > position if step > 0 else order[s] < position)]
        target = (candidates[0] if step > 0 else candidates[-1]) if candidates else (flagged[0] if step > 0 else flagged[-1])
        node = self.expand_path(target)
        if node is not None:
            self.move_cursor(node)
            self.scroll_to_node(node)

    def action_next_flagged(self) -> None:
        self._jump(1)

    def action_previous_flagged(self) -> None:
        self._jump(-1)

    # -- search and plumbing -------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """n/N/esc mean the search while one is active or its hits are on their way, else n/N are the flag jumps
        and esc goes to the app."""
        searching = self.matches is not None or (self._pending_moves is not None and bool(self._pending_query().strip()))
        if action in ("next_match", "previous_match", "end_search"):
            return searching
        if action in ("next_flagged", "previous_flagged"):
            return not searching
        return True

    def expect_matches(self, query: Callable[[], str]) -> None:
        """A search is starting, run off the event loop: until its hits come (`set_matches`), n/N are counted,
        not taken for the flag jumps (`/gpt enter n n` typed fast had jumped between flagged steps) while
        `query()`, the search's text, is not empty (a search left empty keeps n/N for the flags)."""
        self._pending_query = query
        if self._pending_moves is None:
            self._pending_moves = 0
            self.refresh_bindings()

    def set_matches(self, matches: list[str] | None) -> None:
        """Start (a list, maybe empty) or end (None) a search; the first match from the cursor on is selected,
        then the n/N pressed while the hits were being found are made."""
        pending, self._pending_moves = self._pending_moves or 0, None
        self.matches = matches
        self.refresh_bindings()
        if matches:
            current = self.cursor_node.data if self.cursor_node is not None else None
            if current not in matches:
                self._jump(1, matches)
            for _ in range(abs(pending)):
                self._jump(1 if pending > 0 else -1, matches)

    def match_position(self) -> int | None:
        """1-based index of the cursor's step among the matches, if it is one."""
        current = self.cursor_node.data if self.cursor_node is not None else None
        if not self.matches or current not in self.matches:
            return None
        return self.matches.index(current) + 1

    def action_next_match(self) -> None:
        if self.matches is None and self._pending_moves is not None:
            self._pending_moves += 1
            return
        self._jump(1, self.matches or [])

    def action_previous_match(self) -> None:
        if self.matches is None and self._pending_moves is not None:
            self._pending_moves -= 1
            return
        self._jump(-1, self.matches or [])

    def action_end_search(self) -> None:
        self.set_matches(None)
        self.post_message(self.SearchEnded())

    class SearchEnded(Message):
        """esc in the tree ended the search: the app hides the search field."""

    def set_hide_plumbing(self, hide: bool) -> None:
        """`z`: redraw the same trace with or without the plumbing, the cursor kept where it can be."""
        if hide == self.hide_plumbing:
            return
        self.hide_plumbing = hide
        cursor = self.cursor_node.data if self.cursor_node is not None else None
        analysis = self.analysis
        self.analysis = None  # a fresh build: the expansion state belongs to the other shape
        self.show(analysis)
        if analysis is not None and cursor is not None:
            node = self.expand_path(cursor) if self.view is not None and self.view.shows(cursor) else None
            if node is not None:
                self.move_cursor(node)
                self.scroll_to_node(node)
        # The cursor's line may not change while its step does (the hidden root's first kept child takes line 0):
        # the detail pane must hear of it either way.
        self.post_message(self.StepHighlighted(self.cursor_node.data if self.cursor_node is not None else None))
