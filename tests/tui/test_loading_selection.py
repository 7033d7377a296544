"""While saved files load, the list is refreshed and keeps the newest trace selected at most every
SHOW_WHILE_LOADING_SECONDS, and the step tree and the detail follow it as often (listing and rebuilding ten times a
second took the UI thread from the parser for most of a big load); once loading is done, the newest trace shows."""

from __future__ import annotations

import time

import orjson
import pytest

import parsers.read
from orchtui.demo import demo_requests
from orchtui.sources.factory import sources_for
from tests.tui.conftest import DEMO_START_NS, settle, until_listed
from tui import app as app_module
from tui.app import OrchApp

COPIES = 100


def many_traces() -> bytes:
    """COPIES runs of the demo, each later than the last, with trace ids of their own."""
    lines = []
    trace_ids = sorted({span["traceId"] for r in demo_requests(start_ns=DEMO_START_NS) for rs in r["resourceSpans"] for ss in rs["scopeSpans"] for span in ss["spans"]})
    for copy in range(COPIES):
        text = b"".join(orjson.dumps(r) + b"\n" for r in demo_requests(start_ns=DEMO_START_NS + copy * 60_000_000_000))
        for trace_id in trace_ids:
            text = text.replace(trace_id.encode(), f"{copy:08x}{trace_id[8:]}".encode())
        lines.append(text)
    return b"".join(lines)


@pytest.mark.slow  # ~3 s of keys and screens (run by .ci/run after the default suite)
async def test_the_selection_is_shown_every_half_second_while_loading_then_the_newest(tmp_path, monkeypatch) -> None:
    path = tmp_path / "many.otlp.jsonl"
    path.write_bytes(many_traces())
    monkeypatch.setattr(parsers.read.iter_read_path, "__defaults__", (64 << 10,))  # many small batches
    delivered = OrchApp.deliver

    def slowly(app: OrchApp, spans) -> None:  # a load that lasts a few seconds, as a big file's does
        delivered(app, spans)
        time.sleep(0.01)

    monkeypatch.setattr(OrchApp, "deliver", slowly)
    shows: list[tuple[float, bool]] = []
    original = OrchApp._show_trace

    def counted(app: OrchApp, analysis) -> None:
        shows.append((time.monotonic(), app.load_finished))
        original(app, analysis)

    monkeypatch.setattr(OrchApp, "_show_trace", counted)
    listings: list[tuple[float, bool]] = []
    listed = OrchApp.request_rows

    def counted_listing(app: OrchApp) -> None:
        listings.append((time.monotonic(), app.load_finished))
        listed(app)

    monkeypatch.setattr(OrchApp, "request_rows", counted_listing)
    app = OrchApp(sources=sources_for([str(path)]), save_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_listed(pilot, seconds=20)
        await pilot.pause(app_module.SHOW_WHILE_LOADING_SECONDS + 0.1)
        await settle(pilot)
        assert len(app.trace_list.rows) == COPIES * 8
        newest = app.trace_list.current
        assert newest.trace_id.startswith(f"{COPIES - 1:08x}")  # the list kept the newest selected
        assert app.step_tree.analysis.trace_id == newest.trace_id  # and the tree shows it
    while_loading = [at for at, finished in shows if not finished]
    gaps = [later - earlier for earlier, later in zip(while_loading, while_loading[1:])]
    assert all(gap >= app_module.SHOW_WHILE_LOADING_SECONDS * 0.95 for gap in gaps), gaps
