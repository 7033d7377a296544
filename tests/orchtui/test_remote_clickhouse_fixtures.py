"""Every recorded framework trace through ClickHouse (slow: ~2 minutes): `check --json` equal to the file's, and the
pushed-down routes equal to the file's routes except where the README's "Routes from ClickHouse" says the SQL
differs (KNOWN below, each with the deviation that explains it)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA
from tests.orchtui.test_cli_check import run

pytest.importorskip("chdb", reason="chdb (the test extra) runs ClickHouse in-process")

from tests.orchtui.clickhouse_shim import DDL, Engine, Server, rows_from_file  # noqa: E402

pytestmark = pytest.mark.slow
FIXTURES = sorted([*(DATA / "frameworks").glob("*.otlp.jsonl"), *(DATA / "langgraph").glob("*.otlp.jsonl"),
                   DATA / "otlp/otel-demo-collector-file-exporter.jsonl"])
# fixture -> (the route numbers that differ, why)
KNOWN = {
    "litellm-native.otlp.jsonl": ({"path_text"}, "requested tool calls only in gen_ai.output.messages JSON"),
    "litellm-traceai.otlp.jsonl": ({"path_text"}, "requested tool calls only in gen_ai.output.messages JSON"),
    "anthropic-native-openinference.otlp.jsonl": ({"tokens_per_trace", "cost_usd_per_trace"},
                                                  "two sibling LLM spans of one streamed request are both counted"),
    "claude-agent-sdk-traceai.otlp.jsonl": ({"tokens_per_trace", "cost_usd_per_trace", "cost_traces"},
                                            "an LLM span Python merges as a duplicate request is counted (0 tokens)"),
}
NUMBERS = ("path_text", "success_rate", "latency_ms", "tokens_per_trace", "cost_usd_per_trace", "cost_traces",
           "tool_calls_per_trace", "tool_error_rate", "timeout_rate", "models")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    engine = Engine(tmp_path_factory.mktemp("chdb") / "db")
    engine.run_script(DDL)
    with Server(engine) as server:
        yield engine, server
    engine.close()


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return set(a) <= set(b) and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-9 + 1e-6 * abs(a)
    return a == b


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_through_clickhouse(server, path, monkeypatch):
    engine, http = server
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", "")
    engine.query("TRUNCATE TABLE otel.otel_traces")
    engine.insert("otel.otel_traces", rows_from_file(path))
    url = http.url(since="all")
    _, expected, _ = run("check", "--json", str(path))
    _, out, err = run("check", "--json", url)
    assert json.loads(out)["traces"] == json.loads(expected)["traces"], err

    differ, why = KNOWN.get(path.name, (set(), ""))
    _, file_routes, _ = run("routes", "--json", str(path))
    _, pushed, err = run("routes", "--json", url)
    wanted, got = json.loads(file_routes)["routes"], json.loads(pushed)["routes"]
    assert sum(r["traces"] for r in got) == sum(r["traces"] for r in wanted), err
    if "path_text" in differ:
        return  # other paths: every number below belongs to a different row
    got_by_id = {row["route_id"]: row for row in got}
    assert set(got_by_id) == {row["route_id"] for row in wanted}
    for want in wanted:
        for key in NUMBERS:
            if key not in differ:
                assert _close(want[key], got_by_id[want["route_id"]][key]), (want["path_text"], key)
    if differ:
        assert any(not _close(w[k], got_by_id[w["route_id"]][k]) for w in wanted for k in differ), f"fixed? {why}"
