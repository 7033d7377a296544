"""The detail pane from the keyboard alone: scrolling every tab, the Evals findings in the focus cycle, the Evals
tab following the selection, Attrs values at 80 and 120 columns, copy (`c`, OSC 52) and the pager (`o`)."""

from __future__ import annotations

import contextlib
import os
import stat

import pytest
from textual.widgets import OptionList, TabbedContent

from orchtui.live import TraceIndex
from tests.spans import root, span
from tests.tui.conftest import settle
from tui.app import OrchApp
from tui.widgets.detail import EVALS_HINT
from tui.widgets.value_menu import ValueMenu

SMALL = (80, 24)
SIZE = (120, 36)
LONG_KEY = "llm.input_messages.0.message.contents.0.message_content.text"


def screen_text(app: OrchApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def plain(app: OrchApp, renderable) -> str:
    with app.console.capture() as capture:
        app.console.print(renderable)
    return capture.get()


def long_output_app(tmp_path) -> OrchApp:
    index = TraceIndex()
    lines = "\n".join(f"line {n}" for n in range(200))
    index.add([
        root("long"),
        span("dump", "root", kind="tool", tool_name="dump", tool_args={"q": 1}, input="short", output=lines + "x" * 30_000,
             attributes={LONG_KEY: "the value that must show", "k": "v"}),
    ])
    return OrchApp(index, save_dir=tmp_path)


async def focus_detail(pilot) -> None:
    app = pilot.app
    while app.detail not in (app.focused.ancestors_with_self if app.focused else []):
        await pilot.press("tab")


@pytest.mark.slow  # ~3 s of keys and screens (run by .ci/run after the default suite)
async def test_every_tab_scrolls_from_the_keyboard_down_to_the_more_characters_marker(tmp_path):
    app = long_output_app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter", "j")  # the dump step
        await focus_detail(pilot)
        app.detail.query_one(TabbedContent).active = "io"
        await pilot.pause()
        scroll = app.detail.query_one("#io-scroll")
        assert scroll.max_scroll_y > 100 and scroll.scroll_y == 0
        await pilot.press("j", "j", "down")
        assert scroll.scroll_y == 3
        await pilot.press("k")
        assert scroll.scroll_y == 2
        await pilot.press("pagedown")
        paged = scroll.scroll_y
        assert paged > 4
        await pilot.press("pageup")
        assert scroll.scroll_y < paged
        await pilot.press("G")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        assert "more characters (a: show" in screen_text(app)
        await pilot.press("g")
        assert scroll.scroll_y == 0
        await pilot.press("end")
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("home")
        assert scroll.scroll_y == 0
        await pilot.press("right")  # Attrs: the keys scroll it too
        await pilot.pause()
        assert app.detail.active_tab == "attributes"
        await pilot.press("G")
        assert app.detail.query_one("#attributes-scroll").scroll_y == app.detail.query_one("#attributes-scroll").max_scroll_y


async def test_the_detail_scrolls_while_maximized(tmp_path):
    app = long_output_app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter", "j")
        await focus_detail(pilot)
        app.detail.query_one(TabbedContent).active = "io"
        app.screen.maximize(app.detail, container=False)
        await pilot.pause()
        await pilot.press("G")
        scroll = app.detail.query_one("#io-scroll")
        assert scroll.scroll_y == scroll.max_scroll_y > 0
        assert "more characters (a: show" in screen_text(app)


async def _evaluate_policy_research(pilot) -> None:
    await settle(pilot)
    await pilot.press("j", "j", "j", "e")  # policy_research
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.slow  # ~3 s of keys and screens (run by .ci/run after the default suite)
async def test_eval_findings_are_a_tab_stop_and_enter_jumps_to_the_step(demo_app):
    async with demo_app.run_test(size=SMALL) as pilot:
        await _evaluate_policy_research(pilot)
        findings = demo_app.query_one("#evals-findings", OptionList)
        assert findings.option_count > 1
        await pilot.press("tab", "tab")  # list -> steps -> detail tabs
        assert demo_app.focused is demo_app.detail.query_one("Tabs")
        await pilot.press("tab")  # -> the findings
        assert demo_app.focused is findings
        await pilot.press("tab")  # -> back to the list
        assert demo_app.focused is demo_app.trace_list
        await pilot.press("shift+tab")  # backwards from the list: the detail's tabs
        assert demo_app.focused is demo_app.detail.query_one("Tabs")
        await pilot.press("enter")  # enter on the Evals tab goes to its findings
        assert demo_app.focused is findings
        await pilot.press("down")
        assert findings.highlighted == 1
        await pilot.press("k", "k")  # up from the first finding: back to the tabs
        assert demo_app.focused is demo_app.detail.query_one("Tabs")
        await pilot.press("tab", "j", "enter")
        await pilot.pause()
        assert demo_app.focused is demo_app.step_tree
        target = findings.get_option_at_index(1).id.split(":", 1)[1]
        assert demo_app.step_tree.cursor_node.data == target


async def test_down_from_the_tabs_scrolls_the_results_then_enters_the_findings(demo_app):
    async with demo_app.run_test(size=SMALL) as pilot:
        await _evaluate_policy_research(pilot)
        findings = demo_app.query_one("#evals-findings", OptionList)
        scroll = demo_app.detail.query_one("#evals-scroll")
        await focus_detail(pilot)
        await pilot.press("down", "j", "down")  # the results are longer than the pane: they scroll first
        assert scroll.scroll_y == 3 and demo_app.focused is demo_app.detail.query_one("Tabs")
        await pilot.press("G", "down")  # at the bottom the findings are in view: down steps into them
        assert demo_app.focused is findings and findings.highlighted == 0


async def test_the_evals_tab_follows_the_selection(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await _evaluate_policy_research(pilot)
        detail = demo_app.detail
        body = lambda: plain(demo_app, detail.query_one("#evals-body").content)  # noqa: E731
        assert "LoopDetection" in body()
        await pilot.press("j")  # order_status: not evaluated
        await pilot.pause()
        assert detail.active_tab == "evals"
        assert "LoopDetection" not in body() and EVALS_HINT in body()
        assert not detail.query_one("#evals-findings").display
        await pilot.press("k")  # back: its own results again
        await pilot.pause()
        assert "LoopDetection" in body() and detail.query_one("#evals-findings").display


async def test_a_late_evaluation_does_not_cover_another_trace(demo_app):
    from orchtui.evaluation import evaluate_trace

    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        policy = next(row for row in demo_app.trace_list.rows if row.name == "policy_research")
        await pilot.press("e")  # refund_request
        await demo_app.workers.wait_for_complete()
        await pilot.pause()
        body = lambda: plain(demo_app, demo_app.detail.query_one("#evals-body").content)  # noqa: E731
        own = body()
        demo_app.detail.show_evaluation(evaluate_trace(policy))  # a worker that finishes after the user moved on
        await pilot.pause()
        assert body() == own and "GraphRecursionError" not in own


async def test_the_evals_tab_is_cleared_after_a_compare_jump(demo_app):
    from tui.screens.compare import CompareScreen, StepChoice

    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j", "m", "j", "j")  # mark policy_research, select triage_handoff
        await pilot.press("e")
        await demo_app.workers.wait_for_complete()
        await pilot.pause()
        evaluated = demo_app.trace_list.current.trace_id
        await pilot.press("d")
        await demo_app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(demo_app.screen, CompareScreen)
        screen = demo_app.screen
        a_span = next(row.a.span_id for row in screen.comparison.rows if row.a is not None and row.a.span_id)
        screen.dismiss(StepChoice(screen.a_trace_id, a_span))  # a step of the marked trace, as enter on its row does
        await settle(pilot)
        await pilot.pause()
        assert demo_app.trace_list.current.trace_id != evaluated
        assert EVALS_HINT in plain(demo_app, demo_app.detail.query_one("#evals-body").content)


@pytest.mark.parametrize("width", [80, 120])
async def test_attrs_show_values_beside_or_under_long_keys(tmp_path, width):
    app = long_output_app(tmp_path)
    async with app.run_test(size=(width, 36)) as pilot:
        await settle(pilot)
        await pilot.press("enter", "j")
        app.detail.query_one(TabbedContent).active = "attributes"
        await pilot.pause()
        text = screen_text(app)
        assert "the value that must show" in text
        assert "llm.input_messages" in text  # the key too, folded rather than dropped


@pytest.mark.slow  # ~3 s of keys and screens (run by .ci/run after the default suite)
async def test_c_opens_a_menu_and_a_letter_copies_that_value(demo_app):
    async with demo_app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter", "j")  # the first LLM call of refund_request
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(demo_app.screen, ValueMenu)
        await pilot.press("p")
        await pilot.pause()
        span = demo_app.detail.selected_span()
        assert demo_app.clipboard.startswith(f"{span.input_messages[0].role}:")
        assert span.input_messages[-1].content in demo_app.clipboard
        assert any(n.title == "Clipboard" and "Copied prompt" in n.message for n in demo_app._notifications)
        await pilot.press("c", "i")
        await pilot.pause()
        assert demo_app.clipboard == span.span_id
        await pilot.press("c", "j", "j", "enter")  # the cursor picks too: the third entry, the prompt
        await pilot.pause()
        assert demo_app.clipboard.startswith(f"{span.input_messages[0].role}:")
        await pilot.press("c", "escape")
        await pilot.pause()
        assert not isinstance(demo_app.screen, ValueMenu)


async def test_copy_lists_attributes_on_the_attrs_tab_and_escapes_their_names(tmp_path):
    index = TraceIndex()
    evil = "[bold red]x\x1b[2J"
    index.add([root("r"), span("t", "root", kind="tool", tool_name="t", tool_args={"a": 1}, attributes={evil: "secret\x07"})])
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter", "j")
        app.detail.query_one(TabbedContent).active = "attributes"
        await pilot.press("c", "a")  # tool arguments
        await pilot.pause()
        assert app.clipboard == '{\n  "a": 1\n}'
        await pilot.press("c", "G", "enter")  # the last entry: the attribute
        await pilot.pause()
        assert app.clipboard == "secret\x07"  # the clipboard gets the value as recorded
        toast = app._notifications
        message = list(toast)[-1].message
        assert "\x1b" not in message and "\\x1b" in message and "[bold red]x" in message


async def test_c_on_a_focused_finding_copies_it_without_a_menu(demo_app):
    async with demo_app.run_test(size=SMALL) as pilot:
        await _evaluate_policy_research(pilot)
        await focus_detail(pilot)
        await pilot.press("enter", "c")
        await pilot.pause()
        assert not isinstance(demo_app.screen, ValueMenu)
        first = demo_app.query_one("#evals-findings", OptionList).get_option_at_index(0).prompt.plain
        evaluator, code = first.split(": ")[0], first.split(": ")[1].split()[-1]
        assert demo_app.clipboard.startswith(f"{evaluator}: ") and code in demo_app.clipboard


@pytest.fixture
def fake_pager(tmp_path, monkeypatch):
    """A pager that copies the file it is given to pager.out, first on PATH; $PAGER unset so `less` is found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "less"
    script.write_text(f'#!/bin/sh\ncat "$1" > {tmp_path}/pager.out\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("PAGER", raising=False)
    return tmp_path / "pager.out"


async def test_o_pages_the_full_value_with_the_app_suspended(tmp_path, fake_pager, monkeypatch):
    app = long_output_app(tmp_path)
    suspended = []

    @contextlib.contextmanager
    def suspend():
        suspended.append(True)
        yield

    monkeypatch.setattr(app, "suspend", suspend)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter", "j", "o", "r")
        await pilot.pause()
        await pilot.pause()
        assert suspended == [True]
        output = app.detail.selected_span().output
        assert fake_pager.read_text() == output and len(output) > 30_000  # all of it, not the pane's clipped prefix


async def test_pager_comes_from_dollar_pager_and_escapes_terminal_bytes(tmp_path, fake_pager, monkeypatch):
    from tui.widgets.pager import page_text

    script = tmp_path / "bin" / "mypager"
    script.write_text(f'#!/bin/sh\necho "$1" "$2" > {tmp_path}/args.out\ncat "$2" > {tmp_path}/pager.out\n')
    script.chmod(0o755)
    monkeypatch.setenv("PAGER", "mypager -R")
    assert page_text("a\x1b[2Jb\n", "attribute x") is None
    assert fake_pager.read_text() == "a\\x1b[2Jb\n"
    flag, path = (tmp_path / "args.out").read_text().split()
    assert flag == "-R" and not os.path.exists(path)  # the temporary file is removed
    monkeypatch.setenv("PAGER", "no-such-pager-here")
    assert "Cannot run no-such-pager-here" in page_text("x", "y")


async def test_o_without_a_terminal_to_suspend_says_so(tmp_path):
    app = long_output_app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:  # the headless driver cannot suspend
        await settle(pilot)
        await pilot.press("enter", "j", "o", "i")
        await pilot.pause()
        await pilot.pause()
        assert any("cannot hand over to a pager" in n.message for n in app._notifications)
        assert app.is_running
