"""Drive every key the way a person would and assert on what the app shows."""

from __future__ import annotations

import orjson
import pytest

from orchtui.sources.factory import sources_for
from orchtui.analysis.tree import PLACEHOLDER_ID
from orchtui.live import TraceIndex
from parsers import read_path
from tests.conftest import DATA
from tests.spans import root, span
from tests.tui.conftest import settle
from tui.app import OrchApp
from tui.screens.help import HelpScreen
from tui.widgets.detail import DetailPane
from tui.widgets.status_bar import StatusBar
from tui.widgets.step_tree import StepTree

SIZE = (120, 36)


def names(app: OrchApp) -> list[str]:
    return [row.name for row in app.trace_list.rows]


def tree_labels(app: OrchApp) -> list[str]:
    tree = app.step_tree
    labels = []

    def visit(node):
        for child in node.children:
            labels.append(child.label.plain)
            if child.is_expanded:
                visit(child)

    visit(tree.root)
    return labels


async def test_the_list_shows_every_demo_trace_newest_first_with_flags(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert names(demo_app) == [
            "refund_request", "escalation_check", "summarize_contract", "policy_research",
            "order_status", "triage_handoff", "refund_request", "refund_request",
        ]
        rows = {row.name: row for row in demo_app.trace_list.rows}
        assert {"loop", "error", "stop_reason"} <= rows["policy_research"].flags
        line = demo_app.trace_list.render_line(4).text  # line 0 is the column header
        assert "policy_research" in line and "ERR LOOP STOP" in line and "search_docs ×5" in line
        status = str(demo_app.query_one(StatusBar).render())
        assert "8 traces" in status and "51 spans" in status and "0 read errors" in status


async def test_moving_through_the_list_shows_each_trace_in_the_tree(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert demo_app.step_tree.analysis.name == "refund_request"
        await pilot.press("j", "j", "j")
        assert demo_app.trace_list.cursor == 3
        assert demo_app.step_tree.analysis.name == "policy_research"
        await pilot.press("k")
        assert demo_app.step_tree.analysis.name == "summarize_contract"
        await pilot.press("G")
        assert demo_app.trace_list.cursor == 7
        await pilot.press("g")
        assert demo_app.trace_list.cursor == 0
        await pilot.press("down", "up", "down")
        assert demo_app.trace_list.cursor == 1


async def test_tab_cycles_panes_and_enter_opens_the_steps(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert demo_app.focused is demo_app.trace_list
        await pilot.press("enter")
        assert demo_app.focused is demo_app.step_tree
        await pilot.press("tab")
        assert demo_app.query_one(DetailPane) in demo_app.focused.ancestors_with_self
        await pilot.press("tab")
        assert demo_app.focused is demo_app.trace_list
        await pilot.press("shift+tab")
        assert demo_app.query_one(DetailPane) in demo_app.focused.ancestors_with_self


async def test_step_tree_toggles_collapses_and_expands(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j", "enter")  # policy_research, 12 spans: fully expanded
        labels = tree_labels(demo_app)
        assert len(labels) == 12 and "policy_research" in labels[0]
        assert sum("search_docs" in label for label in labels) == 5
        await pilot.press("h")  # collapse the root
        assert len(tree_labels(demo_app)) == 1
        await pilot.press("l")
        assert len(tree_labels(demo_app)) == 12
        await pilot.press("space")
        assert len(tree_labels(demo_app)) == 1
        await pilot.press("enter")
        assert len(tree_labels(demo_app)) == 12
        await pilot.press("left_square_bracket")
        assert len(tree_labels(demo_app)) == 1
        await pilot.press("right_square_bracket")
        assert len(tree_labels(demo_app)) == 12
        await pilot.press("j", "j", "G")
        assert demo_app.step_tree.cursor_line == 11
        await pilot.press("g")
        assert demo_app.step_tree.cursor_line == 0


async def test_n_and_shift_n_jump_between_flagged_steps(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j", "enter")
        tree = demo_app.step_tree
        flagged = tree.flagged_steps()
        assert len(flagged) >= 5
        assert tree.cursor_node.data == flagged[0]  # the root itself hit the recursion limit
        await pilot.press("n")
        assert tree.cursor_node.data == flagged[1]
        await pilot.press("n")
        assert tree.cursor_node.data == flagged[2]
        await pilot.press("N")
        assert tree.cursor_node.data == flagged[1]
        await pilot.press("N", "N")  # wraps around to the last flagged step
        assert tree.cursor_node.data == flagged[-1]


async def test_loop_steps_and_stop_reasons_are_highlighted_in_the_tree(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j")
        labels = tree_labels(demo_app)
        assert all("⟳" in label for label in labels if "search_docs" in label)
        assert "✗" in labels[0]
        await pilot.press("k")  # summarize_contract: truncated
        assert any("[length]" in label for label in tree_labels(demo_app))
        await pilot.press("k")  # escalation_check: missing stop reason
        assert any("[missing]" in label for label in tree_labels(demo_app))


async def test_slash_filters_by_text_and_escape_clears(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"issue_refund")
        await settle(pilot)
        assert names(demo_app) == ["refund_request", "refund_request", "refund_request"]
        await pilot.press("enter")
        assert demo_app.focused is demo_app.trace_list
        assert "/issue_refund" in str(demo_app.query_one(StatusBar).render())
        await pilot.press("escape")
        await settle(pilot)
        assert len(names(demo_app)) == 8


async def test_f_cycles_quick_filters(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = []
        for _ in range(4):
            await pilot.press("f")
            await settle(pilot)
            seen.append((demo_app.quick_filter, sorted(names(demo_app))))
        assert seen == [
            ("errors", ["policy_research"]),
            ("loops", ["policy_research"]),
            ("stop reasons", ["escalation_check", "policy_research", "summarize_contract"]),
            ("all", sorted(["refund_request", "escalation_check", "summarize_contract", "policy_research", "order_status", "triage_handoff", "refund_request", "refund_request"])),
        ]


async def test_y_saves_the_selected_trace_as_otlp_json(demo_app, tmp_path):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j", "y")
        await pilot.pause()
        (saved,) = tmp_path.glob("orchtui-policy_research-*.otlp.json")
        result = read_path(saved)
        assert len(result.spans) == 12 and result.errors == []
        assert {s.name for s in result.spans} >= {"policy_research", "search_docs"}
        assert any(str(saved) in n.message for n in demo_app._notifications)


async def test_help_screen_opens_and_closes(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(demo_app.screen, HelpScreen)
        body = _plain(demo_app, demo_app.screen.query_one("#help-body").content)
        assert "next / previous flagged step" in body and "save the selected trace" in body
        await pilot.press("escape")
        assert not isinstance(demo_app.screen, HelpScreen)


@pytest.mark.slow  # ~3 s of keys and screens (run by .ci/run after the default suite)
async def test_command_palette_jumps_to_a_trace(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Trace: summarize")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert demo_app.trace_list.current.name == "summarize_contract"


async def test_q_quits(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert demo_app.return_code == 0 or not demo_app.is_running


async def test_detail_tabs_show_the_selected_step(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j", "enter", "j")  # first LLM call of policy_research
        detail = demo_app.query_one(DetailPane)
        tabs = demo_app.query_one("TabbedContent")

        def body(tab: str) -> str:
            return detail.render_tab(tab).__rich_console__ and _plain(demo_app, detail.render_tab(tab))

        assert "gpt-4o-mini" in body("summary") and "tool_calls" in body("summary")
        tabs.active = "messages"
        await pilot.pause()
        chat = body("messages")
        assert "search_docs" in chat and "vendor exception policy" in chat and "system" in chat
        tabs.active = "attributes"
        assert "llm.token_count.prompt" in body("attributes")
        await pilot.press("j")  # search_docs
        tabs.active = "io"
        assert "No documents matched" in body("io")
        await pilot.press("g")  # the root: errored with an exception event
        tabs.active = "events"
        events = body("events")
        assert "exception" in events and "GraphRecursionError" in events and "Traceback" in events
        tabs.active = "findings"
        assert "loop.runtime_limit" in body("findings")


def _plain(app, renderable) -> str:
    with app.console.capture() as capture:
        app.console.print(renderable)
    return capture.get()


async def test_hostile_names_and_values_render_literally(tmp_path):
    index = TraceIndex()
    evil = "[bold red]pwned[/] \x1b[2J\x1b]0;title\x07"
    index.add([root(evil), span(evil, "root", kind="tool", tool_name=evil, tool_args={"q": "[link=x]y"}, attributes={"k": evil})])
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = app.trace_list.render_line(1).text  # under the header
        assert "[bold red]pwned[/]" in row and "\x1b" not in row and "\\x1" in row
        labels = tree_labels(app)
        assert all("[bold red]pwned[/]" in label and "\x1b" not in label for label in labels)
        await pilot.press("enter", "j")
        attributes = _plain(app, app.query_one(DetailPane).render_tab("attributes"))
        assert "[bold red]pwned[/]" in attributes and "\x1b[2J" not in attributes and "\x07" not in attributes


@pytest.mark.slow  # 5.5 s: a 3 MB value rendered clipped, then whole (run by .ci/run)
async def test_huge_values_are_clipped_until_asked(tmp_path):
    index = TraceIndex()
    index.add([root("big"), span("dump", "root", kind="tool", tool_name="dump", tool_args={}, output="x" * 3_000_000)])
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter", "j", "tab")
        detail = app.query_one(DetailPane)
        clipped = _plain(app, detail.render_tab("io"))
        assert "2,980,000 more characters" in clipped and len(clipped) < 100_000
        await pilot.press("a")
        assert detail.show_all
        assert "more characters" not in _plain(app, detail.render_tab("io"))


async def test_orphans_hang_under_a_placeholder(tmp_path):
    index = TraceIndex()
    index.add([root("partial"), span("lost", "never-arrived", kind="tool", tool_name="lost", tool_args={})])
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.step_tree
        assert [child.data for child in tree.root.children] == ["root", PLACEHOLDER_ID]
        placeholder = tree.root.children[1]
        assert "missing parent (1 span" in placeholder.label.plain
        assert [child.label.plain.split()[1] for child in placeholder.children] == ["lost"]


async def test_live_demo_grows_while_the_app_runs(tmp_path):
    app = OrchApp(sources=sources_for(demo=2.0), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        early = app.index.counts()["spans"]
        for _ in range(100):  # the player finishes in ~2 s; allow a slow machine up to 10 s
            if app.index.counts()["spans"] == 51:
                break
            await pilot.pause(0.1)
        await pilot.pause(0.3)
        await settle(pilot)
        assert app.index.counts()["spans"] == 51 > early
        assert len(app.trace_list.rows) == 8


async def test_updates_keep_arriving_while_help_is_open(tmp_path):
    app = OrchApp(sources=sources_for(demo=0.6), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        for _ in range(50):
            if app.index.counts()["spans"] == 51:
                break
            await pilot.pause(0.1)
        await pilot.pause(0.3)
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert len(app.trace_list.rows) == 8
        assert "8 traces" in str(app.status_bar.render())


async def test_the_mouse_selects_traces_and_steps(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#traces", offset=(5, 4))  # the fourth row, under the header
        await pilot.pause()
        assert demo_app.trace_list.current.name == "policy_research"
        await pilot.click("#steps", offset=(10, 2))  # the second step line
        await pilot.pause()
        assert demo_app.step_tree.cursor_line == 1
        assert demo_app.detail.span_id == demo_app.step_tree.cursor_node.data


async def test_tail_shows_appended_spans_pause_holds_them_and_critical_findings_toast(tmp_path):
    from orchtui.demo import demo_requests

    followed = tmp_path / "live.jsonl"
    followed.write_bytes(b"")
    requests = demo_requests(start_ns=1_764_000_000_000_000_000)
    app = OrchApp(sources=sources_for([str(followed)], follow=True), save_dir=tmp_path)

    async def wait_for(predicate, timeout=5.0):
        for _ in range(int(timeout / 0.05)):
            if predicate():
                return
            await pilot.pause(0.05)
        assert predicate()

    async with app.run_test(size=SIZE) as pilot:
        with open(followed, "ab") as out:
            out.write(orjson.dumps(requests[0]) + b"\n")
        await wait_for(lambda: len(app.trace_list.rows) == 1)
        assert app.trace_list.rows[0].name == "refund_request"

        await pilot.press("p")
        assert app.paused
        with open(followed, "ab") as out:
            out.write(orjson.dumps(requests[5]) + b"\n")  # summarize_contract: truncated, critical
        await wait_for(lambda: len(app._held) == 3)
        # the status line repaints on the next 10 Hz tick
        await wait_for(lambda: "paused, 3 spans queued" in str(app.status_bar.render()))
        await settle(pilot)
        assert len(app.trace_list.rows) == 1
        assert "paused, 3 spans queued" in str(app.status_bar.render())

        await pilot.press("p")
        await wait_for(lambda: len(app.trace_list.rows) == 2)
        await wait_for(lambda: any("stop_reason.truncated" in n.title for n in app._notifications))


async def test_e_evaluates_the_trace_and_a_finding_jumps_to_its_step(demo_app):
    from textual.widgets import OptionList

    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j", "e")  # policy_research
        await demo_app.workers.wait_for_complete()
        await pilot.pause()
        assert demo_app.query_one("TabbedContent").active == "evals"
        body = _plain(demo_app, demo_app.query_one("#evals-body").content)
        assert "LoopDetection" in body and "fail" in body and "StopReason" in body
        findings = demo_app.query_one("#evals-findings", OptionList)
        assert findings.option_count > 0
        findings.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert demo_app.focused is demo_app.step_tree
        target = findings.get_option_at_index(findings.highlighted).id.split(":", 1)[1]
        assert demo_app.step_tree.cursor_node.data == target


async def test_shift_e_saves_the_observed_route_as_a_golden_gate(demo_app, tmp_path):
    from orchtui.gate import load_gate

    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await pilot.pause()
        (route,) = load_gate(tmp_path / "orchtui-gate.toml")
        assert route.match == "refund_request"
        assert [c["name"] for c in route.reference.expected_tool_calls] == ["lookup_order", "issue_refund"]
        assert demo_app.routes is not None


async def test_a_wide_trace_opens_its_top_level_and_fits_labels_as_they_are_drawn(tmp_path):
    """A 2,000-step trace: its 1,000 top-level steps are listed (not their children: over the node budget), and a
    step gets its full label (duration, tokens) when drawn, not before."""
    from tui.widgets.step_tree import AUTO_EXPAND_NODES

    index = TraceIndex()
    spans = [root("wide")]
    for turn in range(1000):
        spans.append(span(f"turn {turn}", "root", span_id=f"turn-{turn}", start=1000 + turn * 10, end=1005 + turn * 10))
        spans.append(span("fetch", f"turn-{turn}", kind="tool", tool_name="fetch", tool_args={"page": turn}, start=1001 + turn * 10, end=1004 + turn * 10))
    index.add(spans)
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.step_tree
        (top,) = tree.root.children
        assert top.is_expanded and len(top.children) == 1000
        assert not any(child.is_expanded for child in top.children)  # 2,001 nodes would pass the budget
        assert len(tree._node_of) == 1001 and AUTO_EXPAND_NODES < 2001
        drawn, far = top.children[0], top.children[-1]
        assert drawn.label.plain.split()[:3] == ["○", "turn", "0"] and "0ms" in drawn.label.plain  # fitted: a duration
        assert far.label.plain.split() == ["○", "turn", "999"]  # never drawn: icon and name only
        await pilot.press("enter", "G")  # focus the steps, go to the last one: it is drawn and fitted
        await pilot.pause()
        assert len(far.label.plain) > len("○ turn 999") and far.label.plain.startswith("○ turn 999")


async def test_the_poll_timer_survives_an_empty_screen_stack(demo_app):
    """The 10 Hz poll can fire while the app shuts down, after the screen stack is emptied: it must not raise."""
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        stack = demo_app._screen_stacks[demo_app._current_mode]
        saved = stack[:]
        stack.clear()
        try:
            demo_app._poll()  # raised ScreenStackError("No screens on stack") before
        finally:
            stack.extend(saved)
        assert demo_app.screen_stack == saved


async def test_a_streamed_call_keeps_its_chunk_spans_folded(tmp_path):
    """Mastra writes a `model_chunk` span per piece of a streamed answer: the call stays folded, its steps show."""
    index = TraceIndex()
    index.add(read_path(DATA / "frameworks" / "mastra-native.otlp.jsonl").spans)
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("G")  # the oldest trace: the clean run
        await settle(pilot)
        labels = tree_labels(app)
        assert any("execute_tool lookup_policy" in label or "lookup_policy" in label for label in labels)
        assert not any("model_chunk" in label for label in labels)
        tree = app.query_one(StepTree)
        calls = [node for span_id, node in tree._node_of.items() if tree.analysis.tree.spans[span_id].name == "chat gpt-4o-mini"]
        assert calls and all(node.allow_expand and not node.is_expanded for node in calls)
