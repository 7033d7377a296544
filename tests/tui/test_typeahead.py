"""Keys typed fast right after a key that moves focus (`/`, `enter`) go where the first key sent the user: none
is lost in the pane just left, and none runs that pane's binding (a quick `q` after `/` is text, not quit)."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui.conftest import settle, type_fast


async def test_text_typed_right_after_slash_lands_in_the_filter(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "slash", *"refund")
        await settle(pilot)
        assert demo_app.filter_input.value == "refund"
        assert demo_app.focused is demo_app.filter_input


async def test_enter_then_slash_typed_fast_searches_the_steps(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "enter", "slash", *"search")
        await settle(pilot)
        assert demo_app.step_search.value == "search"
        assert demo_app.focused is demo_app.step_search
        assert demo_app.filter_input.value == "" and not demo_app.filter_input.display


async def test_a_quick_q_after_slash_is_text_not_quit(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "slash", "q")
        await settle(pilot)
        assert demo_app.is_running
        assert demo_app.filter_input.value == "q"


async def test_keys_typed_ahead_of_the_tree_move_in_the_tree(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "enter", "j", "j")
        await settle(pilot)
        assert demo_app.focused is demo_app.step_tree
        assert demo_app.step_tree.cursor_line == 2
        assert demo_app.trace_list.cursor == 0


async def test_the_command_palette_gets_the_letters_typed_right_after_ctrl_p(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "ctrl+p", *"help")
        await settle(pilot)
        await pilot.pause(0.2)
        field = demo_app.screen.query_one(Input)
        assert field.value == "help"


async def test_moving_in_the_list_then_into_the_tree_fast_moves_in_the_new_trace(demo_app):
    """`j j j enter j j` in one burst (a paste, or keys over a slow ssh link): the tree shows the trace the list
    moved to before the `j`s after `enter` move in it, and the detail shows the step under the tree's cursor (it
    had shown "No step selected": the `j`s moved the previous trace's tree, then named its steps to the new one)."""
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "j", "j", "j", "enter", "j", "j")
        await settle(pilot)
        listed = demo_app.trace_list.current
        tree = demo_app.step_tree
        assert demo_app.trace_list.cursor == 3 and tree.analysis.trace_id == listed.trace_id
        assert tree.cursor_line == 2
        assert demo_app.detail.analysis is tree.analysis and demo_app.detail.span_id == tree.cursor_node.data


async def test_tab_typed_fast_after_enter_leaves_the_tree_it_opened(demo_app):
    """`enter tab` in one burst: tab is bound above the widgets (the screen's own tab would come first), so the
    app saw it before the list had handled `enter`, moved focus to the tree, and the list's `enter` then ran the
    tree's binding: the root collapsed, focus stayed in the tree, and `j`s typed after were lost in it."""
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "enter", "j", "j", "tab")
        await settle(pilot)
        tree = demo_app.step_tree
        assert tree.get_node_at_line(0).is_expanded and tree.cursor_line == 2  # the trace's root step
        assert demo_app.detail in demo_app.focused.ancestors_with_self
        assert demo_app.detail.span_id == tree.cursor_node.data
        type_fast(demo_app, "shift+tab", "k", "enter")  # back in the tree, up one, and toggle that step
        await settle(pilot)
        assert demo_app.focused is tree and tree.cursor_line == 1
        assert demo_app.trace_list.cursor == 0


async def test_shift_tab_typed_fast_after_keys_for_the_tree_runs_after_them(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "enter", "j", "shift+tab")
        await settle(pilot)
        assert demo_app.focused is demo_app.trace_list and demo_app.step_tree.cursor_line == 1
        type_fast(demo_app, "tab", "j", "shift+tab", "j")  # the first `j` moves in the tree, the second in the list
        await settle(pilot)
        assert demo_app.focused is demo_app.trace_list and demo_app.trace_list.cursor == 1
        assert demo_app.step_tree.analysis.trace_id == demo_app.trace_list.current.trace_id  # the list's new trace


async def test_keys_typed_right_after_enter_in_the_filter_move_in_the_list(demo_app):
    """`/re enter j` in one burst: enter's binding submitted the field, but focus went back to the list only when
    the Submitted message came round, after the `j`, which the field took as text ("rej": no trace listed)."""
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "slash", "r", "e", "enter", "j")
        await settle(pilot)
        assert demo_app.filter_input.value == "re" and demo_app.text_filter == "re"
        assert demo_app.focused is demo_app.trace_list and demo_app.trace_list.cursor == 1
        type_fast(demo_app, "escape", "j")  # esc clears the filter, and the `j` after it moves in the list
        await settle(pilot)
        assert demo_app.filter_input.value == "" and demo_app.focused is demo_app.trace_list


async def test_keys_typed_right_after_enter_in_the_step_search_move_in_the_tree(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "enter", "slash", "g", "p", "t", "enter", "j")
        await settle(pilot)
        assert demo_app.step_search.value == "gpt"
        assert demo_app.focused is demo_app.step_tree and demo_app.step_tree.cursor_line == 1


async def test_n_typed_before_the_search_hits_come_moves_among_them(demo_app):
    """The step search runs off the event loop; an `n` that came before its hits had jumped between flagged steps
    instead, and `/gpt enter n n` typed fast ended somewhere else than typed slowly."""
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "enter", "slash", "g", "p", "t", "enter", "n", "n")
        await settle(pilot)
        tree = demo_app.step_tree
        assert len(tree.matches) >= 3 and tree.match_position() == 3
        type_fast(demo_app, "N")
        await settle(pilot)
        assert tree.match_position() == 2


async def test_a_step_search_left_empty_keeps_n_for_the_flagged_steps(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_fast(demo_app, "j", "j", "j", "enter", "slash", "shift+tab", "shift+tab", "n")
        await settle(pilot)
        tree = demo_app.step_tree
        assert demo_app.focused is tree and tree.matches is None
        assert tree.cursor_line > 0 and tree.cursor_node.data in tree.flagged_steps()  # n went to the next flag
