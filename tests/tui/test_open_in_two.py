"""`orchtui open` on a big file: a worker process forked before the app starts reads the file's second part
(orchtui/split_load.py), and the app lists, analyses and shows exactly what it shows reading the file alone."""

from __future__ import annotations

import orjson
import pytest

import orchtui.split_load as split_load
from orchtui.demo import demo_requests
from orchtui.live import TraceIndex
from orchtui.sources.factory import sources_for
from orchtui.sources.files import FileSource
from parsers import payloads
from tests.orchtui.test_analysing_sink import START_NS, interleaved_lines
from tests.tui.conftest import settle, until_listed
from tui.app import OrchApp

SIZE = (120, 40)


async def _opened(path, tmp_path, in_two: bool, monkeypatch) -> tuple[list, list, dict]:
    """Rows, analyses and the attributes of every span, once the app has loaded `path`."""
    sources = sources_for([str(path)])
    if in_two:
        split_load.fallbacks.clear()
        monkeypatch.setattr(split_load, "SPLIT_MIN_BYTES", 0)
        monkeypatch.setattr(split_load.os, "sched_getaffinity", lambda pid: {0, 1})
        monkeypatch.setattr(split_load.threading, "active_count", lambda: 1)  # threads other tests left idle
        for source in sources:
            assert isinstance(source, FileSource)
            source.start_workers()
            assert len(source._workers) == 1
    app = OrchApp(sources=sources, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until_listed(pilot)
        await settle(pilot)
        rows = [(row.trace_id, row.name) for row in app.trace_list.rows]
        analyses = sorted((app.index.get(trace_id).to_json() for trace_id, _ in rows), key=lambda a: a["trace_id"])
        spans = {span.span_id: span.attributes for snapshot in app.index.store.snapshots() for span in snapshot.spans}
    assert split_load.fallbacks == []  # the worker's traces came from the worker, not from reading its part again
    return rows, analyses, spans


@pytest.mark.parametrize("layout", ["interleaved", "a request a line"])
async def test_a_file_opened_in_two_processes_shows_what_one_process_shows(layout, tmp_path, monkeypatch) -> None:
    path = tmp_path / "traces.jsonl"
    if layout == "interleaved":  # nearly every trace has spans on both sides of the cut: merged and analysed here
        path.write_bytes(interleaved_lines())
    else:  # whole traces on each side: the worker's are listed with the worker's analyses
        path.write_bytes(b"".join(orjson.dumps(request) + b"\n" for request in demo_requests(start_ns=START_NS)))
    adopted: list[str] = []
    real_adopt = TraceIndex.adopt

    def counting(index, traces):
        adopted.extend(trace.trace_id for trace in traces)
        return real_adopt(index, traces)

    monkeypatch.setattr(TraceIndex, "adopt", counting)
    payloads.forget()
    alone = await _opened(path, tmp_path, False, monkeypatch)
    assert adopted == []
    in_two = await _opened(path, tmp_path, True, monkeypatch)
    assert adopted
    assert in_two == alone
    assert len(alone[0]) >= 8 and all(alone[2].values())
