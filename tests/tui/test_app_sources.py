"""The app runs any mix of sources (orchtui/sources/base.py), each on its own thread, into one store."""

from __future__ import annotations

import asyncio

import httpx
import orjson

from orchtui.demo import demo_requests
from orchtui.live import TraceIndex
from orchtui.sources.base import FAILED, ONCE, STARTING, Source
from orchtui.sources.factory import sources_for
from orchtui.sources.receiver import ReceiverSource
from tests.tui.conftest import settle
from tui.app import OrchApp
from tui.screens.sources import SourcesScreen
from tui.widgets.status_bar import StatusBar

START_NS = 1_764_000_000_000_000_000
SIZE = (120, 30)


class Broken(Source):
    kind = "broken"
    mode = ONCE

    def run(self, sink) -> None:
        raise RuntimeError("a bug in this source")


async def _until(pilot, ready, what: str, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if ready():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _status(app: OrchApp) -> str:
    return str(app.query_one(StatusBar).render())


async def test_a_file_a_followed_file_and_the_http_receiver_deliver_to_one_store(tmp_path):
    requests = demo_requests(start_ns=START_NS)  # one trace each
    saved, followed = tmp_path / "saved.jsonl", tmp_path / "live.jsonl"
    saved.write_bytes(orjson.dumps(requests[0]) + b"\n")
    followed.write_bytes(orjson.dumps(requests[1]) + b"\n")
    sources = [*sources_for([str(saved)]), *sources_for([str(followed)], follow=True, otlp=("127.0.0.1", 0), spool=tmp_path / "spool")]
    app = OrchApp(TraceIndex(), sources=sources, save_dir=tmp_path)
    receiver = sources[-1]
    assert isinstance(receiver, ReceiverSource) and app.live
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: app.load_finished and receiver.status.state != STARTING, "the file read and the receiver up")
        (endpoint,) = receiver.listening
        answer = await asyncio.to_thread(
            httpx.post, endpoint.endpoint, content=orjson.dumps(requests[2]), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200
        with followed.open("ab") as out:
            out.write(orjson.dumps(requests[3]) + b"\n")
        await _until(pilot, lambda: app.index.counts()["traces"] == 4, "four traces, from three sources")
        await settle(pilot)
        await _until(pilot, lambda: len(app.trace_list.rows) == 4, "the four listed")
        assert app.index.counts()["errors"] == 0
        assert _status(app).startswith(f"saved.jsonl +1 more + otlp 127.0.0.1:{endpoint.port} → spool")
        await pilot.press("exclamation_mark")
        await settle(pilot)
        assert isinstance(app.screen, SourcesScreen)
        await _until(pilot, lambda: "totals" in str(app.screen.query_one("#sources").render()), "the panel")
        lines = str(app.screen.query_one("#sources").render()).splitlines()
        assert lines[0] == f"file       {saved}  loaded"
        assert lines[1].startswith(f"following  {followed}:3  ") and "caught up" in lines[1]
        assert lines[2] == f"otlp       http://127.0.0.1:{endpoint.port}/v1/traces  no token"
        assert lines[3].startswith("           1 request · ") and lines[3].endswith(" spans accepted")
    assert not any(source.alive for source in sources)  # the app stopped every source when it ended
    assert not endpoint._server_thread.is_alive() and not sources[1].follower._thread.is_alive()


async def test_a_source_that_raises_is_told_and_the_others_and_the_app_go_on(tmp_path):
    saved = tmp_path / "saved.jsonl"
    saved.write_bytes(b"".join(orjson.dumps(request) + b"\n" for request in demo_requests(start_ns=START_NS)[:2]))
    broken = Broken("broken://x")
    app = OrchApp(TraceIndex(), sources=[broken, *sources_for([str(saved)])], save_dir=tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _until(pilot, lambda: app.load_finished, "both sources done")
        await settle(pilot)
        assert broken.status.state == FAILED and broken.status.problem == "stopped: RuntimeError: a bug in this source"
        assert app.index.counts()["traces"] == 2 and len(app.trace_list.rows) == 2
        assert "1 read error" in _status(app)
        assert any(n.title == "Cannot read" and "broken://x: stopped: RuntimeError" in n.message for n in app._notifications)
        await pilot.press("j")  # the app still answers keys
        await settle(pilot)
        assert app.is_running
