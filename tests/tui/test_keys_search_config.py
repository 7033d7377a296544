"""Issue 13 (defects 6 and 12, search inside a trace, the plumbing toggle, the config file), driven as a person
would: keys pressed in a running app, the screen's rendered cells inspected."""

from __future__ import annotations

import os

import pytest
from rich.segment import Segment

from orchtui.config import config_path, load_config
from orchtui.live import TraceIndex
from parsers.span import ERROR
from tests.spans import span
from tests.tui.conftest import demo_index, settle
from tui import colour_mode
from tui.app import OrchApp, make_app
from tui.screens.help import HelpScreen

SMALL = (80, 24)


def demo(tmp_path, **options) -> OrchApp:
    return OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo", **options)


def footer_keys(app: OrchApp) -> list[str]:
    return [key.description for key in app.screen.query("FooterKey")]


def cursor_name(app: OrchApp) -> str:
    node = app.step_tree.cursor_node
    return app.step_tree.analysis.tree.spans[node.data].name


# -- defect 12 ---------------------------------------------------------------------------------------------------


async def test_ctrl_c_quits(tmp_path):
    app = demo(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_ctrl_c_quits_from_the_filter_field(tmp_path):
    app = demo(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", "x", "ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_footer_names_the_focused_panes_keys(tmp_path):
    app = demo(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert "Filter" in footer_keys(app) and "Expand all" not in footer_keys(app)
        await pilot.press("tab")
        assert "Expand all" in footer_keys(app) and "Search" in footer_keys(app)
        await pilot.press("shift+tab")
        assert "Expand all" not in footer_keys(app)


async def test_help_scrolls_with_the_list_keys(tmp_path):
    app = demo(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one("VerticalScroll")
        assert body.max_scroll_y > 0  # the help is longer than 24 rows
        await pilot.press("j", "j")
        assert body.scroll_y == 2
        await pilot.press("k")
        assert body.scroll_y == 1
        await pilot.press("G")
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("g")
        assert body.scroll_y == 0
        await pilot.press("pagedown")
        assert body.scroll_y > 5
        await pilot.press("pageup")
        assert body.scroll_y == 0


# -- search inside the trace -------------------------------------------------------------------------------------


@pytest.mark.slow  # ~3 s of keys and screens (run by .ci/run after the default suite)
async def test_slash_in_the_tree_searches_steps_and_n_walks_the_matches(tmp_path):
    app = demo(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j", "enter")  # policy_research: search_docs five times
        assert app.step_tree.analysis.name == "policy_research"
        await pilot.press("slash", *"search_docs", "enter")
        await settle(pilot)
        matches = app.step_tree.matches
        tools = [s.span_id for s in app.step_tree.analysis.tree.spans.values() if "search_docs" in (s.name, s.tool_name)]
        assert len(tools) == 5 and set(tools) <= set(matches)  # and the LLM calls that asked for it
        count = len(matches)
        assert app.focused is app.step_tree
        assert app.step_tree.cursor_node.data == matches[0]
        assert "Next match" in footer_keys(app)
        assert f"1/{count}" in str(app.step_tree.border_title)
        await pilot.press("n", "n")
        assert app.step_tree.cursor_node.data == matches[2]
        await pilot.press("N")
        assert app.step_tree.cursor_node.data == matches[1]
        await pilot.press("escape")
        assert app.step_tree.matches is None and not app.step_search.display
        assert "Next flag" in footer_keys(app)
        assert app.trace_list.rows  # esc ended the search, it did not clear the trace filter or leave the tree
        assert app.focused is app.step_tree


@pytest.mark.slow  # ~3 s of keys and screens (run by .ci/run after the default suite)
async def test_step_search_reads_attribute_values_and_message_text(tmp_path):
    app = demo(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j", "j", "enter")  # order_status: the tool that timed out
        await pilot.press("slash", *"timed out")
        await settle(pilot)
        assert app.step_tree.matches, "the status message / event text of the timed-out call"
        await pilot.press("escape")  # esc in the field ends the search too
        assert app.step_tree.matches is None and not app.step_search.display


async def test_slash_in_the_trace_list_still_filters_traces(tmp_path):
    app = demo(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"order")
        await settle(pilot)
        assert app.text_filter == "order" and "order_status" in [row.name for row in app.trace_list.rows]
        assert len(app.trace_list.rows) < 8
        assert not app.step_search.display


@pytest.mark.slow  # ~3 s of keys and screens (run by .ci/run after the default suite)
async def test_a_search_with_no_match_says_so_and_n_does_not_jump_flags(tmp_path):
    app = demo(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j", "enter", "slash", *"zzzz-nothing", "enter")
        await settle(pilot)
        before = app.step_tree.cursor_node.data
        assert app.step_tree.matches == [] and "0 matches" in str(app.step_tree.border_title)
        await pilot.press("n")
        assert app.step_tree.cursor_node.data == before


# -- plumbing ----------------------------------------------------------------------------------------------------


def plumbing_index() -> TraceIndex:
    spans = [
        span("AgentExecutor", kind="agent", span_id="root", trace="p"),
        span("RunnableSequence", "root", kind="chain", span_id="seq", trace="p"),
        span("ChatPromptTemplate", "seq", kind="chain", span_id="tpl", trace="p"),
        span("ChatOpenAI", "seq", kind="llm", span_id="llm", trace="p", model="gpt-4o"),
        span("OpenAIToolsAgentOutputParser", "seq", kind="chain", span_id="parser", trace="p"),
        span("lookup", "root", kind="tool", span_id="tool", trace="p", tool_name="lookup"),
        span("wrapper", "root", kind="chain", span_id="wrap", trace="p"),
        span("RouterRunnable", "wrap", kind="chain", span_id="router", trace="p", status=ERROR),
        span("handoff", "root", kind="handoff", span_id="hand", trace="p"),
    ]
    index = TraceIndex()
    index.add(spans)
    return index


def shown(app: OrchApp) -> list[tuple[int, str]]:
    rows = []

    def visit(node, depth):
        for child in node.children:
            rows.append((depth, app.step_tree.analysis.tree.spans[child.data].name))
            if child.is_expanded:
                visit(child, depth + 1)

    visit(app.step_tree.root, 0)
    return rows


async def test_z_hides_plumbing_and_reparents_the_kept_steps(tmp_path):
    app = OrchApp(plumbing_index(), save_dir=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter", "j", "j", "j")  # cursor on the LLM call, three levels down
        assert cursor_name(app) == "ChatOpenAI"
        full = shown(app)
        assert (2, "ChatPromptTemplate") in full
        await pilot.press("z")
        assert shown(app) == [
            (0, "AgentExecutor"), (1, "ChatOpenAI"), (1, "lookup"), (1, "RouterRunnable"), (1, "handoff"),
        ]  # the failed router stays: hiding it would hide its ✗
        assert cursor_name(app) == "ChatOpenAI"  # the cursor stays on its step
        await pilot.press("g", "z", "z")  # on the root, which stays: the detail shows what the cursor is on
        await pilot.pause()
        assert app.detail.span_id == app.step_tree.cursor_node.data
        assert "plumbing hidden" in str(app.step_tree.border_title)
        assert "Plumbing" in footer_keys(app)
        await pilot.press("z")
        assert shown(app) == full


# -- colour modes (defect 6) -------------------------------------------------------------------------------------


def screen_segments(app: OrchApp) -> list[Segment]:
    return [segment for strip in app.screen._compositor.render_strips() for segment in strip]


def styles_of(app: OrchApp, text: str):
    return [segment.style for segment in screen_segments(app) if text in segment.text]


async def test_no_color_shows_severity_in_reverse_and_bold_not_in_dark_grey(tmp_path):
    app = demo(tmp_path, colours=colour_mode.NONE)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        segments = screen_segments(app)
        assert all(s.style is None or (s.style.color is None or s.style.color.is_default) for s in segments)
        assert all(s.style is None or (s.style.bgcolor is None or s.style.bgcolor.is_default) for s in segments)
        err = styles_of(app, "ERR")
        assert err and all(style.bold and style.reverse for style in err)
        stop = styles_of(app, "STOP")
        assert stop and all(style.bold and style.underline and not style.reverse for style in stop)
        failed = styles_of(app, "✗")
        assert failed and all(style.bold and style.reverse for style in failed)
        cursor_row = [s for s in segments if "refund_request" in s.text][0]  # the first row holds the cursor
        assert cursor_row.style.reverse


def test_term_dumb_and_no_color_mean_no_colour():
    assert colour_mode.detect({"TERM": "dumb"}, None) == colour_mode.NONE
    assert colour_mode.detect({"TERM": "xterm-256color", "NO_COLOR": "1"}, "256") == colour_mode.NONE
    assert colour_mode.detect({"TERM": "xterm-16color"}, "standard") == colour_mode.SIXTEEN
    assert colour_mode.detect({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, "truecolor") == colour_mode.FULL


async def test_term_dumb_writes_no_24_bit_colour(tmp_path, monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = demo(tmp_path)
    mode = colour_mode.detect(os.environ, app.console.color_system)
    assert app.console.color_system is None and mode == colour_mode.NONE
    app = demo(tmp_path, colours=mode)  # headless, the app would not detect: as it would on that terminal
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        # What the driver would write: Textual renders with 24-bit colour when Rich found no colour system.
        written = "".join(strip.render(app.console) for strip in app.screen._compositor.render_strips())
        assert "38;2;" not in written and "48;2;" not in written and "38;5;" not in written


async def test_sixteen_colours_use_native_ansi_and_warn_is_not_redder_than_critical(tmp_path):
    app = demo(tmp_path, colours=colour_mode.SIXTEEN)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.theme == colour_mode.SIXTEEN_THEME
        red = {1, 9}
        err = styles_of(app, "ERR")
        stop = styles_of(app, "STOP")
        assert err and all(style.color.number in red for style in err)
        assert stop and all(style.color.number in (3, 11) for style in stop)
        cursor_row = [s for s in screen_segments(app) if "refund_request" in s.text][0]
        bg = cursor_row.style.bgcolor
        assert cursor_row.style.reverse  # the selection in reverse video, not on an accent rounded to bright red
        assert bg is None or bg.number is None or bg.number not in red


# -- the config file ---------------------------------------------------------------------------------------------


def write_config(tmp_path, text: str) -> dict[str, str]:
    (tmp_path / "orchtui").mkdir(exist_ok=True)
    (tmp_path / "orchtui" / "config.toml").write_text(text)
    return {"XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)}


def test_config_file_and_environment(tmp_path):
    environ = write_config(
        tmp_path,
        'theme = "nord"\n[keymap]\n"steps.search" = "ctrl+f"\n[defaults]\nfollow = false\nmax_spans = 5000\nfail_on = "warn"\n',
    )
    assert config_path(environ) == tmp_path / "orchtui" / "config.toml"
    config = load_config(environ)
    assert (config.theme, config.keymap, config.follow, config.max_spans, config.fail_on) == ("nord", {"steps.search": "ctrl+f"}, False, 5000, "warn")
    assert config.problems == []
    config = load_config({**environ, "ORCHTUI_THEME": "gruvbox", "ORCHTUI_FAIL_ON": "info", "ORCHTUI_MAX_SPANS": "7", "ORCHTUI_FOLLOW": "1"})
    assert (config.theme, config.fail_on, config.max_spans, config.follow) == ("gruvbox", "info", 7, True)


def test_a_bad_config_file_is_reported_never_fatal(tmp_path):
    config = load_config(write_config(tmp_path, "theme = [unclosed\n"))
    assert config.theme is None and len(config.problems) == 1 and "not read" in config.problems[0]
    config = load_config(write_config(tmp_path, 'colour = 1\n[defaults]\nmax_spans = -5\nfail_on = "sometimes"\n[keymap]\n"app.quit" = 3\n'))
    assert len(config.problems) == 4
    assert config.max_spans is None and config.fail_on is None and config.keymap == {}
    config = load_config({**write_config(tmp_path, ""), "ORCHTUI_MAX_SPANS": "lots"})
    assert config.max_spans is None and config.problems == ["environment: ORCHTUI_MAX_SPANS must be a positive whole number"]


async def test_the_config_keymap_and_theme_apply_and_unknowns_are_told(tmp_path):
    environ = write_config(tmp_path, 'theme = "nord"\n[keymap]\n"app.plumbing" = "ctrl+z"\n"app.nonsense" = "x"\n')
    app = make_app(config=load_config(environ), save_dir=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.theme == "nord"
        await pilot.press("ctrl+z")
        assert app.step_tree.hide_plumbing
        await pilot.press("z")  # the old key no longer does it
        assert app.step_tree.hide_plumbing
        toasts = [str(n.message) for n in app._notifications]
        assert any("app.nonsense" in message for message in toasts)


async def test_an_unknown_theme_is_told_and_the_default_kept(tmp_path):
    app = demo(tmp_path, theme="no-such-theme")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark"
        assert any("no-such-theme" in str(n.message) for n in app._notifications)


async def test_z_on_a_hidden_root_moves_the_detail_with_the_cursor(tmp_path):
    index = TraceIndex()
    index.add([
        span("LangGraph", kind="chain", span_id="graph", trace="g"),
        span("agent", "graph", kind="agent", span_id="agent", trace="g"),
        span("ChatOpenAI", "agent", kind="llm", span_id="call", trace="g", model="gpt-4o"),
        span("should_continue", "agent", kind="chain", span_id="edge", trace="g"),
    ])
    app = OrchApp(index, save_dir=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.detail.span_id == "graph"
        await pilot.press("z")
        await pilot.pause()
        assert shown(app) == [(0, "agent"), (1, "ChatOpenAI")]  # the wrapper and the conditional edge folded
        assert app.detail.span_id == "agent"
