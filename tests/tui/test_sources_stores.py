"""`!` with trace stores polled live (`orchtui tail URL`): each store by its short label (as the status line names
it), its state (polling, idle, failing with the last error), interval, spans received and last poll; every string
from the URL or the server escaped. Against loopback stores (tests/orchtui/remote_http.py)."""

from __future__ import annotations

import re
import threading
import time

import pytest

from orchtui.remote.poller import FAILING, IDLE, POLLING
from orchtui.sources.factory import sources_for
from tests.orchtui.remote_http import REMOTE, Answer, free_port, no_user_config, serve
from tests.tui.conftest import settle
from tui.app import make_app
from tui.screens.sources import SourcesScreen
from tui.widgets.status_bar import StatusBar

__all__ = ["no_user_config"]

FIND = (REMOTE / "jaeger/find-traces.json").read_bytes()
HOSTILE = b'{"error": {"httpCode": 503, "message": "\x1b]0;owned\x07 [bold red]overloaded[/] \xe2\x80\xae"}}'
CLOCK = r"\d\d:\d\d:\d\d"


async def _until(pilot, ready, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"waited for {what}"
        await pilot.pause(0.05)


def _status(app) -> str:
    return str(app.query_one(StatusBar).render())


def _sources(screen) -> str:
    return str(screen.query_one("#sources").render())


@pytest.mark.slow  # ~4 s of timers and screens (run by .ci/run after the default suite)
async def test_bang_lists_each_store_with_its_state_interval_spans_and_last_poll():
    release = threading.Event()

    def slow(request):  # a store that has not answered yet: its poll is under way
        release.wait(30)
        return Answer(200, FIND)

    with serve(lambda request: Answer(200, FIND)) as ok, serve(lambda request: Answer(503, HOSTILE)) as bad, serve(slow) as hung:
        refused = free_port()
        app = make_app(sources_for([
            f"jaeger://127.0.0.1:{ok.port}?service=vendor-assistant&interval=1h&since=2h",
            f"jaeger://127.0.0.1:{bad.port}?service=billing&interval=50ms",
            f"phoenix://127.0.0.1:{refused}/agents?interval=2m",
            f"jaeger://127.0.0.1:{hung.port}?service=slow&interval=250ms",
        ], follow=True))
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                # cut to make room for the counts (the `!` screen has it whole), keeping how many more sources there are;
                # the `!` hint goes first (an ephemeral port has five digits)
                status = f"jaeger 127.0.0.1:{str(ok.port)[:2]}… +3 more  4 traces · 78 spans · 6 findings · 2 read errors"
                await _until(pilot, lambda: _status(app) == status and hung.requests, "the first polls listed")
                await pilot.resize_terminal(160, 24)
                await _until(pilot, lambda: _status(app).startswith(f"jaeger 127.0.0.1:{ok.port} service=vendor-assistant +3 more  4"), "the whole label")
                await pilot.resize_terminal(80, 24)
                await settle(pilot)
                await pilot.press("exclamation_mark")
                screen = app.screen
                assert isinstance(screen, SourcesScreen)
                await _until(pilot, lambda: "last poll" in _sources(screen) and "failing" in _sources(screen), "the panel")
                lines = _sources(screen).splitlines()
                assert lines[0] == f"store      jaeger 127.0.0.1:{ok.port} service=vendor-assistant"
                assert re.fullmatch(rf" {{11}}idle · every 1 h · 78 spans · last poll {CLOCK}", lines[1]), lines[1]
                assert lines[2] == f"store      jaeger 127.0.0.1:{bad.port} service=billing"
                assert re.fullmatch(rf" {{11}}failing · every 50 ms · 0 spans · last poll {CLOCK}", lines[3]), lines[3]
                # the server's words, escaped: no escape sequence, no markup, no bidi override reaches the terminal
                assert re.fullmatch(rf" {{11}}since {CLOCK}: " + re.escape(
                    r'HTTP 503 on /api/v3/traces: {"error": {"httpCode": 503, "message": "\x1b]0;owned\x07 [bold red]overloaded[/] \u202e"}}'),
                    lines[4]), lines[4]
                assert lines[5] == f"store      phoenix 127.0.0.1:{refused}/agents"
                assert re.fullmatch(rf" {{11}}failing · every 2 min · 0 spans · last poll {CLOCK}", lines[6]), lines[6]
                assert re.match(rf" {{11}}since {CLOCK}: cannot connect \(", lines[7]), lines[7]
                assert lines[8] == f"store      jaeger 127.0.0.1:{hung.port} service=slow"
                assert re.fullmatch(r" {11}polling \(\d+\.\d s\) · every 250 ms · 0 spans · no poll yet", lines[9]), lines[9]
                assert lines[10] == "totals     4 traces · 78 spans · 2 read errors"
                assert [source.polled.state for source in app.sources] == [IDLE, FAILING, FAILING, POLLING]

                release.set()  # the slow store answers: its spans counted (the same traces: the index has them once)
                answered = rf" {{11}}(idle|polling \(\d+\.\d s\)) · every 250 ms · 78 spans · last poll {CLOCK}"
                await _until(pilot, lambda: re.fullmatch(answered, _sources(screen).splitlines()[9]), "the slow store's answer")
                assert app.index.counts()["spans"] == 78 and app.sources[3].polled.polls >= 1
        finally:
            release.set()


async def test_a_store_is_named_readably_and_escaped_in_the_status_line_and_the_panel():
    with serve(lambda request: Answer(200, b'{"result": {"resourceSpans": []}}')) as store:
        app = make_app(sources_for([f"jaeger://127.0.0.1:{store.port}?service=%1b%5D0;t%07%5Bred%5Dagent&operation=a%20b&interval=1h"], follow=True))
        async with app.run_test(size=(120, 24)) as pilot:
            await _until(pilot, lambda: app.sources[0].polled.polls == 1, "the first poll")
            await settle(pilot)
            label = rf"jaeger 127.0.0.1:{store.port} service=\x1b]0;t\x07[red]agent operation=a b"
            assert _status(app) == f"waiting for spans on {label}"
            await pilot.press("exclamation_mark")
            screen = app.screen
            await _until(pilot, lambda: "last poll" in _sources(screen), "the panel")
            lines = _sources(screen).splitlines()
            assert lines[0] == f"store      {label}"
            assert re.fullmatch(rf" {{11}}idle · every 1 h · 0 spans · last poll {CLOCK}", lines[1]), lines[1]
            assert "\x1b" not in "".join(screen.query_one("#sources").render_line(y).text for y in range(3))


def test_the_sources_label_is_cut_to_leave_room_for_the_counts():
    from tui.widgets.status_bar import SOURCES_MIN, fit

    label = "jaeger 127.0.0.1:16686 service=vendor-assistant"
    assert fit(label, 80) == label and fit(label, len(label)) == label
    assert fit(label, 30) == "jaeger 127.0.0.1:16686 servic…"
    assert fit(label + " +12 more", 30) == "jaeger 127.0.0.1:166… +12 more"
    assert fit(label, 3) == fit(label, SOURCES_MIN) == "jaeger 127.0.0.1:16686 …"  # never less than this
    assert fit("日本語のエージェント名" * 3, 25) == "日本語のエージェント名日…"  # by cells: wide characters count twice


async def test_a_store_opened_once_is_named_the_same_way():
    from tui.app import OrchApp

    with serve(lambda request: Answer(200, FIND)) as store:
        app = OrchApp(sources=sources_for([f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant&since=2h"]))
        async with app.run_test(size=(120, 24)) as pilot:
            status = f"jaeger 127.0.0.1:{store.port} service=vendor-assistant  4 traces · 78 spans · "
            await _until(pilot, lambda: app.load_finished and _status(app).startswith(status), "the store read and listed")
            await pilot.press("exclamation_mark")
            screen = app.screen
            await _until(pilot, lambda: "totals" in _sources(screen), "the panel")
            assert _sources(screen).splitlines()[0] == f"store      jaeger 127.0.0.1:{store.port} service=vendor-assistant  read once (open)"
