"""`orchtui tail clickhouse://…` through the TUI's poller, against a real ClickHouse engine (chDB) behind the loopback
HTTP shim (tests/orchtui/clickhouse_shim.py): rows inserted as the exporter writes them show up as traces in the
list; rows inserted later (and a batch the collector sent again) show up once."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("chdb", reason="chdb (the test extra) runs ClickHouse in-process")

from tests.orchtui.clickhouse_shim import DDL, Engine, Server, rows_from_file  # noqa: E402
from tests.tui.conftest import settle  # noqa: E402

PASSWORD = "s3cret"


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory):
    engine = Engine(tmp_path_factory.mktemp("chdb") / "db")
    with Server(engine, password=PASSWORD) as server:
        yield engine, server
    engine.close()


@pytest.fixture
def rows(tmp_path, monkeypatch):
    from orchtui.demo import write_demo_file

    monkeypatch.setenv("CLICKHOUSE_PASSWORD", PASSWORD)
    monkeypatch.setenv("ORCHTUI_CONFIG", str(tmp_path / "none.toml"))
    path = tmp_path / "demo.otlp.jsonl"
    write_demo_file(path)
    return rows_from_file(path)


async def _until(pilot, ready, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"waited for {what}"
        await pilot.pause(0.05)


def _listed(app) -> list[str]:
    return [row.trace_id for row in app.trace_list.rows]


@pytest.mark.slow  # ~4 s of timers and screens (run by .ci/run after the default suite)
async def test_tail_clickhouse_shows_inserted_traces_and_later_ones_once(clickhouse, rows):
    from orchtui.sources.factory import sources_for
    from tui.app import make_app
    from tui.screens.sources import SourcesScreen

    engine, server = clickhouse
    engine.run_script(DDL, {"otel_traces": "tailed"})
    trace_ids = list(dict.fromkeys(row["TraceId"] for row in rows))
    first, later = set(trace_ids[:3]), set(trace_ids[3:])
    engine.insert("otel.tailed", [row for row in rows if row["TraceId"] in first])

    app = make_app(sources_for([server.url(table="tailed", since="all", interval="1s")], follow=True))
    (source,) = app.sources
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: set(_listed(app)) == first, "the first traces in the list")
        await settle(pilot)
        shown = "\n".join(app.trace_list.render_line(y).text for y in range(app.trace_list.size.height))
        names = {row["SpanName"] for row in rows if row["TraceId"] in first and not row["ParentSpanId"]}
        assert names and all(name in shown for name in names)

        # the rest, and the first traces' rows again (a collector retrying a batch it was not sure went through)
        engine.insert("otel.tailed", [row for row in rows if row["TraceId"] in later] + [row for row in rows if row["TraceId"] in first])
        await _until(pilot, lambda: set(_listed(app)) == first | later, "the later traces in the list")
        polls = source.polled.polls
        await _until(pilot, lambda: source.polled.polls >= polls + 2, "two more polls")  # nothing comes twice
        await settle(pilot)
        assert sorted(_listed(app)) == sorted(trace_ids)  # each trace listed once
        assert app.index.counts()["spans"] == len(rows) == source.polled.spans  # each span delivered once
        assert app.index.counts()["errors"] == 0

        await pilot.press("exclamation_mark")
        screen = app.screen
        assert isinstance(screen, SourcesScreen)
        await _until(pilot, lambda: "last poll" in str(screen.query_one("#sources").render()), "the sources panel")
        lines = str(screen.query_one("#sources").render()).splitlines()
        assert lines[0] == f"store      clickhouse default@127.0.0.1:{server.port}/otel table=tailed"
        assert lines[1].startswith("           ") and f"every 1 s · {len(rows)} spans · last poll" in lines[1]
    assert not source.alive and source.poller._thread is None  # polled on the source's own thread, now ended
