"""clickhouse:// against a real ClickHouse engine (chDB) behind the loopback HTTP shim: the exporter's own DDL,
rows shaped as the exporter writes them (tests/orchtui/clickhouse_shim.py), then check, open, poll and the
pushed-down routes compared with the same traces read from their file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchtui.loading import load_paths
from orchtui.remote import RemoteError, source_for
from orchtui.remote import clickhouse as ch
from orchtui.store import SpanStore
from tests.conftest import DATA
from tests.orchtui.test_cli_check import run

chdb = pytest.importorskip("chdb", reason="chdb (the test extra) runs ClickHouse in-process")

from tests.orchtui.clickhouse_shim import DDL, LEGACY_DDL, Engine, Server, go_float, rows_from_file  # noqa: E402

PASSWORD = "s3cret"
LANGGRAPH = DATA / "langgraph/langgraph-openinference.otlp.jsonl"
MCP = DATA / "frameworks/mcp-openinference.otlp.jsonl"
FILES = [LANGGRAPH, MCP]



@pytest.fixture(scope="module")
def engine(tmp_path_factory, demo):
    engine = Engine(tmp_path_factory.mktemp("chdb") / "db")
    engine.run_script(DDL)
    engine.run_script(LEGACY_DDL)
    for path in [demo, *FILES]:
        engine.insert("otel.otel_traces", rows_from_file(path))
        engine.insert("otel.otel_traces_legacy", rows_from_file(path, legacy=True))
    engine.run_script(DDL, {"otel_traces": "demo_only"})
    engine.insert("otel.demo_only", rows_from_file(demo))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def server(engine):
    with Server(engine, password=PASSWORD) as server:
        yield server


@pytest.fixture(autouse=True)
def credentials(monkeypatch, tmp_path):
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", PASSWORD)
    monkeypatch.setenv("ORCHTUI_CONFIG", str(tmp_path / "none.toml"))


def traces(out: str) -> list[dict]:
    return json.loads(out)["traces"]


# -- the URL and the wire -----------------------------------------------------------------------------------------


def test_url_defaults_and_parameters():
    url = ch.parse_url("clickhouse://alice@db.example:9000/traces?table=spans_v2&since=15m&limit=50&lag=5&interval=10s")
    assert (url.user, url.host, url.port, url.database, url.table) == ("alice", "db.example", 9000, "traces", "spans_v2")
    assert (url.since_s, url.limit, url.lag_s, url.https, url.pushdown) == (900, 50, 5, False, True)
    assert (url.interval_s, url.timeout_s, ch.parse_url("clickhouse://h?lag=10m").lag_s) == (10.0, 60.0, 600)
    assert url.base_url == "http://db.example:9000/"
    tls = ch.parse_url("clickhouse+https://db.example/otel?since=all&pushdown=0")
    assert (tls.port, tls.https, tls.since_s, tls.user, tls.table, tls.pushdown) == (8443, True, None, "default", "otel_traces", False)
    assert ch.parse_url("clickhouse://h").database == "otel" and ch.parse_url("clickhouse://h").since_s == 3600
    # Durations are spelled as for every store URL: a live poll can be sub-second, the SQL's `since` whole seconds.
    assert ch.parse_url("clickhouse://h?interval=500ms").interval_s == 0.5
    assert (ch.parse_url("clickhouse://h?interval=0.25&since=90.5").interval_s, ch.parse_url("clickhouse://h?since=90.5").since_s) == (0.25, 90)


@pytest.mark.parametrize("url, says", [
    ("clickhouse://alice:hunter2@h:8123/otel", "CLICKHOUSE_PASSWORD"),
    ("clickhouse://h/otel?password=hunter2", "CLICKHOUSE_PASSWORD"),
    ("clickhouse://h/otel?tabel=x", "unknown clickhouse URL parameter"),
    ("clickhouse://h/otel?table=x;DROP TABLE y", "letters, digits"),
    ("clickhouse://h/otel?since=yesterday", "since="),
    ("clickhouse://h/otel?interval=soon", "interval="),
    ("clickhouse://h/otel?limit=0", "limit="),
    ("clickhouse:///otel", "needs a host"),
])
def test_bad_urls_are_refused_before_any_request(url, says):
    with pytest.raises(RemoteError, match=says):
        ch.parse_url(url)


def test_a_password_in_the_url_exits_2_without_echoing_it():
    code, out, err = run("check", "--json", "clickhouse://alice:hunter2@127.0.0.1:1/otel")
    assert code == 2 and "hunter2" not in out + err and "CLICKHOUSE_PASSWORD" in err


def test_password_from_the_config_file(monkeypatch, tmp_path):
    monkeypatch.delenv("CLICKHOUSE_PASSWORD")
    config = tmp_path / "config.toml"
    config.write_text('[remote.clickhouse]\npassword = "from-file"\n')
    monkeypatch.setenv("ORCHTUI_CONFIG", str(config))
    assert ch.password() == "from-file"
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", "from-env")
    assert ch.password() == "from-env"


def test_parameters_travel_in_clickhouse_text_form():
    assert ch.encode_param("a\tb\\c\n") == "a\\tb\\\\c\\n"
    assert ch.encode_param(["x", "it's", "back\\slash"]) == "['x','it\\'s','back\\\\slash']"
    assert ch.encode_param({"m": [[1.5, 2.0]]}) == "{'m':[[1.5,2.0]]}"
    assert ch.encode_param(42) == "42"


def test_exporter_float_strings_match_pdata():
    assert [go_float(v) for v in (3.0, 0.1, 1e-7, 2.5e21, 123456.789)] == ["3", "0.1", "1e-7", "2.5e+21", "123456.789"]


# -- reading --------------------------------------------------------------------------------------------------------


def test_check_json_over_clickhouse_equals_check_json_over_the_files(server, demo):
    for path in [demo, *FILES]:
        _, expected, _ = run("check", "--json", str(path))
        wanted = {t["trace_id"] for t in traces(expected)}
        code, out, err = run("check", "--json", server.url(since="all", limit=1000))
        assert code in (0, 1), err
        got = [t for t in traces(out) if t["trace_id"] in wanted]
        assert got == traces(expected)


def test_schema_drift_an_older_exporters_table_reads_the_same(server, demo):
    _, expected, _ = run("check", "--json", str(demo))
    code, out, err = run("check", "--json", server.url(table="demo_only", since="all"))
    assert traces(out) == traces(expected), err
    legacy = source_for(server.url(table="otel_traces_legacy", since="all"))
    assert "ScopeName" not in legacy.schema().columns and legacy.schema().columns["Duration"] == "Int64"
    _, legacy_out, _ = run("check", "--json", server.url(table="otel_traces_legacy", since="all"))
    assert traces(legacy_out) == traces(run("check", "--json", server.url(since="all"))[1])


def test_open_through_the_loading_path_and_one_trace_by_id(server, demo):
    store = SpanStore()
    report = load_paths([server.url(table="demo_only", since="all")], store)
    assert not report.unreadable and sum(report.spans.values()) == len(rows_from_file(demo))
    assert set(report.files.values()) == {"clickhouse"}
    one = traces(run("check", "--json", str(demo))[1])[2]["trace_id"]
    before = len(server.queries)
    _, out, _ = run("check", "--json", server.url(since="all", trace=one))
    assert [t["trace_id"] for t in traces(out)] == [one]
    for sql, params in server.queries[before:]:
        assert one not in sql  # values travel as parameters, never inside the SQL
    assert any(one in params.get("ids", "") for _, params in server.queries[before:])


def test_limit_keeps_the_newest_traces(server, demo):
    everything = traces(run("check", "--json", server.url(table="demo_only", since="all"))[1])
    newest = traces(run("check", "--json", server.url(table="demo_only", since="all", limit=2))[1])
    assert [t["trace_id"] for t in newest] == [t["trace_id"] for t in everything[-2:]]


def test_since_window_uses_the_servers_clock(server, demo):
    recent = {t["trace_id"] for t in traces(run("check", "--json", str(demo))[1])}  # the demo's traces start now
    _, out, _ = run("check", "--json", server.url(since="1h"))
    assert {t["trace_id"] for t in traces(out)} == recent  # the recorded fixtures are older than an hour


def test_poll_gives_each_span_once_and_then_only_new_ones(engine, server, demo, monkeypatch):
    engine.run_script(DDL, {"otel_traces": "live"})
    rows = rows_from_file(demo)
    engine.insert("otel.live", rows[:40])
    source = source_for(server.url(table="live", since="all", lag=10_000_000))
    monkeypatch.setattr(ch, "POLL_PAGE", 15)  # pages: the cursor carries a full page's end into the next poll
    seen: list[str] = []
    for _ in range(6):
        seen += [span.span_id for result in source.poll() for span in result.spans]
    assert len(seen) == len(set(seen)) == 40
    engine.insert("otel.live", rows[30:])  # ten rows again (the collector retried a batch) and the rest
    later = [span.span_id for _ in range(6) for result in source.poll() for span in result.spans]
    assert len(later) == len(set(later)) == len(rows) - 40 and not set(later) & set(seen)
    assert list(source.poll()) == []
    assert len(source._seen) <= ch.SEEN_CAP


def test_poll_forgets_ids_that_cannot_come_back(engine, server, demo):
    engine.run_script(DDL, {"otel_traces": "live_small"})
    engine.insert("otel.live_small", rows_from_file(demo))
    source = source_for(server.url(table="live_small", since="all", lag=0))
    spans = [span for result in source.poll() for span in result.spans]
    assert spans and len(source._seen) < len(spans)  # only the spans ending at the watermark stay remembered


def test_a_bad_row_costs_only_itself(engine, server, demo):
    engine.run_script(DDL, {"otel_traces": "damaged"})
    rows = rows_from_file(demo)
    rows[3] = dict(rows[3], SpanId="")  # no span id: not a span
    rows[5] = dict(rows[5], Timestamp="1970-01-01 00:00:00.000000000")  # an impossible start time
    engine.insert("otel.damaged", rows)
    store = SpanStore()
    report = load_paths([server.url(table="damaged", since="all")], store)
    assert sum(report.spans.values()) == len(rows) - 1
    assert any("TraceId/SpanId" in error.message for error in store.errors)


# -- failures -------------------------------------------------------------------------------------------------------


def test_wrong_password_unknown_table_and_refused_connection_exit_2(server, monkeypatch):
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", "wrong")
    code, _, err = run("check", server.url(since="all"))
    assert code == 2 and "HTTP 401" in err and "Traceback" not in err
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", PASSWORD)
    code, _, err = run("check", server.url(table="nope", since="all"))
    assert code == 2 and "no table otel.nope" in err and "otel_traces" in err  # names the tables that look like traces
    code, _, err = run("routes", "clickhouse://default@127.0.0.1:1/otel?since=all")
    assert code == 2 and "ConnectError" in err and "Traceback" not in err


def test_server_text_is_escaped_on_the_terminal(server):
    server.fail_next = (500, "Code: 999. DB::Exception: \x1b]52;c;aGk=\x07 boom")
    code, _, err = run("routes", server.url(since="all"))
    assert code == 2 and "\x1b" not in err and "\\x1b" in err


def test_a_stream_that_breaks_off_is_a_remote_error(server):
    server.fail_next = (200, '{"name":"TraceId","type":"String"}\nCode: 241. DB::Exception: Memory limit exceeded')
    code, _, err = run("check", server.url(since="all"))
    assert code == 2 and "broke off" in err


# -- routes pushed down -------------------------------------------------------------------------------------------


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return set(a) <= set(b) and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-9 + 1e-6 * abs(a)  # cost sums: ClickHouse adds in another order
    return a == b


COMPARED = ("family", "path", "path_text", "traces", "share", "success_rate", "latency_ms", "tokens_per_trace",
            "cost_usd_per_trace", "cost_traces", "tool_calls_per_trace", "tool_error_rate", "timeout_rate", "models",
            "expensive", "expensive_reasons")


@pytest.mark.parametrize("by", ["path", "family"])
def test_pushed_down_routes_agree_with_routes_on_the_file(server, demo, by):
    code_file, expected, _ = run("routes", "--json", "--by", by, str(demo))
    before = len(server.queries)
    code, out, err = run("routes", "--json", "--by", by, server.url(table="demo_only", since="all"))
    assert code == code_file == 1, err  # the demo's expensive fallback is found by both
    assert all("FROM {db:Identifier}.{table:Identifier}" in sql or sql.startswith("DESCRIBE") for sql, _ in server.queries[before:])
    assert not any("SpanId IN" in sql for sql, _ in server.queries[before:])  # no span is fetched
    document, wanted = json.loads(out), json.loads(expected)
    assert document["computed_in"] == "clickhouse" and document["deviations"] and document["not_computed"]
    assert [r["route_id"] for r in document["routes"]] == [r["route_id"] for r in wanted["routes"]]
    for got, want in zip(document["routes"], wanted["routes"]):
        for key in COMPARED:
            assert _close(want[key], got[key]), (want["family"], key, want[key], got[key])
        assert got["loop_rate"] is None and got["retries_per_trace"] is None and got["stop_problem_rate"] is None
        assert got["newest_trace_ids"]


def test_pushed_down_routes_agree_on_framework_traces(server):
    for path in FILES:
        _, expected, _ = run("routes", "--json", str(path))
        wanted = {r["route_id"]: r for r in json.loads(expected)["routes"]}
        _, out, _ = run("routes", "--json", server.url(since="all"))
        got = {r["route_id"]: r for r in json.loads(out)["routes"]}
        for route_id, want in wanted.items():
            assert route_id in got, want["path_text"]
            for key in ("path_text", "success_rate", "latency_ms", "tokens_per_trace", "cost_usd_per_trace", "tool_calls_per_trace"):
                if want["family"] in {w["family"] for w in wanted.values()} and got[route_id]["traces"] == want["traces"]:
                    assert _close(want[key], got[route_id][key]), (path.name, want["path_text"], key)


def test_pushed_down_table_looks_like_the_files_and_says_what_differs(server, demo):
    _, expected, _ = run("routes", str(demo))
    code, out, _ = run("routes", server.url(table="demo_only", since="all"))
    assert code == 1
    assert "computed in ClickHouse (8 traces, 8 rows)" in out and "retry, loop and stop are not computed" in out
    assert "orchtui routes (by path)" in out and "◆ lookup_order › ⌕retrieve_policy ◆gpt-4o issue_refund ◆gpt-4o" in out
    assert "Expensive branches" in out and "is 3.7x the rest of refund_request" in out
    assert "&trace=<id>" in out


def test_pushdown_off_and_a_gate_file_read_the_spans_instead(server, demo):
    code, out, _ = run("routes", "--json", server.url(table="demo_only", since="all", pushdown=0))
    document = json.loads(out)
    assert "computed_in" not in document and document["routes"][0]["loop_rate"] is not None


# -- the SQL is generated for the keys the window's spans carry ------------------------------------------------------


def test_pushed_down_routes_for_the_keys_present_equal_the_full_vocabularys(server, monkeypatch):
    """The vocabulary question leaves out every key no span has; the full SQL (every key) answers the same."""
    from orchtui.remote import clickhouse_routes as routes

    url = ch.parse_url(server.url(since="all"))
    before = len(server.queries)
    pruned = routes.compute(url, "path")
    sent = server.queries[before:]
    assert "groupUniqArrayArray(SpanAttributes.keys)" in sent[1][0]  # DESCRIBE, then the keys: a read of the key column
    assert "ai.operationId" not in sent[-1][0] and "openinference.span.kind" in sent[-1][0]
    monkeypatch.setattr(routes, "vocabulary", lambda *args: routes.Vocabulary())
    full = routes.compute(url, "path")
    assert len(server.queries[-1][0]) > 2 * len(sent[-1][0])
    assert [stats.route_id for stats in pruned.stats] == [stats.route_id for stats in full.stats]
    for have, want in zip(pruned.stats, full.stats):
        assert _close(want.to_json(), have.to_json()), want.route_id
    assert pruned.newest == full.newest and pruned.traces == full.traces


def test_pushed_down_routes_over_a_window(server, demo):
    """since=1h: the traces whose first span is in the last hour (the demo's; the recorded fixtures are older),
    chosen per trace by ClickHouse."""
    _, expected, _ = run("routes", "--json", str(demo))
    code, out, err = run("routes", "--json", server.url(since="1h"))
    assert code == 1, err
    got, wanted = json.loads(out)["routes"], json.loads(expected)["routes"]
    assert [r["route_id"] for r in got] == [r["route_id"] for r in wanted]
    for have, want in zip(got, wanted):
        for key in COMPARED:
            assert _close(want[key], have[key]), (want["family"], key)


# -- traces built for one rule each ---------------------------------------------------------------------------------


def _attribute(key: str, value) -> dict:
    return {"key": key, "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}}


def _span(trace: str, span: str, parent: str | None, name: str, kind: str, start: int, end: int, error: str | None = None, **attrs) -> dict:
    body = {"traceId": trace, "spanId": span, "name": name, "kind": 1, "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
            "attributes": [_attribute("openinference.span.kind", kind), *(_attribute(k.replace("__", "."), v) for k, v in attrs.items())],
            "status": {"code": 2, "message": error} if error else {"code": 1}}
    if parent:
        body["parentSpanId"] = parent
    return body


def _write_traces(path: Path, traces: list[list[dict]]) -> Path:
    with path.open("w") as handle:
        for spans in traces:
            request = {"resourceSpans": [{"resource": {"attributes": [_attribute("service.name", "rules")]},
                                          "scopeSpans": [{"scope": {"name": "openinference.instrumentation.langchain"}, "spans": spans}]}]}
            handle.write(json.dumps(request) + "\n")
    return path


def _compare_with_the_file(engine, server, path: Path, table: str) -> list[dict]:
    engine.run_script(DDL, {"otel_traces": table})
    engine.insert(f"otel.{table}", rows_from_file(path))
    _, expected, _ = run("routes", "--json", str(path))
    code, out, err = run("routes", "--json", server.url(table=table, since="all"))
    assert code in (0, 1), err
    got, wanted = json.loads(out)["routes"], json.loads(expected)["routes"]
    assert [r["route_id"] for r in got] == [r["route_id"] for r in wanted]
    for have, want in zip(got, wanted):
        for key in COMPARED:
            assert _close(want[key], have[key]), (want["family"], key, want[key], have[key])
    return got


def test_an_llm_span_wrapping_one_llm_span_of_the_same_request_is_one_call(engine, server, tmp_path):
    """The pair is counted once, from the better-informed span: the wrapper (inner dropped) or the inner one
    (wrapper dropped); two calls under one wrapper are both counted."""
    t0 = 1_760_000_000_000_000_000
    llm = {"llm__model_name": "gpt-4o", "llm__provider": "openai"}
    tokens = {"llm__token_count__prompt": 100, "llm__token_count__completion": 20}
    traces = [
        [_span("a" * 32, "a1" * 8, None, "wrapper_informed", "AGENT", t0, t0 + 10_000),
         _span("a" * 32, "a2" * 8, "a1" * 8, "outer", "LLM", t0 + 1000, t0 + 9000, llm__finish_reason="stop", output__value="done", **llm, **tokens),
         _span("a" * 32, "a3" * 8, "a2" * 8, "inner", "LLM", t0 + 2000, t0 + 8000, **llm, **tokens)],
        [_span("b" * 32, "b1" * 8, None, "inner_informed", "AGENT", t0, t0 + 10_000),
         _span("b" * 32, "b2" * 8, "b1" * 8, "outer", "LLM", t0 + 1000, t0 + 9000, **llm),
         _span("b" * 32, "b3" * 8, "b2" * 8, "inner", "LLM", t0 + 2000, t0 + 8000, llm__finish_reason="stop", output__value="done", **llm, **tokens)],
        [_span("c" * 32, "c1" * 8, None, "two_calls", "AGENT", t0, t0 + 10_000),
         _span("c" * 32, "c2" * 8, "c1" * 8, "outer", "LLM", t0 + 1000, t0 + 9000, **llm),
         _span("c" * 32, "c3" * 8, "c2" * 8, "first", "LLM", t0 + 2000, t0 + 4000, **llm, **tokens),
         _span("c" * 32, "c4" * 8, "c2" * 8, "second", "LLM", t0 + 5000, t0 + 8000, **llm, **tokens)],
    ]
    got = _compare_with_the_file(engine, server, _write_traces(tmp_path / "pairs.otlp.jsonl", traces), "pairs")
    assert {r["family"]: r["tokens_per_trace"]["mean"] for r in got} == {"wrapper_informed": 120, "inner_informed": 120, "two_calls": 240}


def test_timed_out_calls_when_some_spans_carry_an_http_status(engine, server, tmp_path):
    """A failed span that did not time out sits before the timed-out tool call in the table's order, and a status
    key is in the vocabulary: each span keeps its own timeout flag."""
    t0 = 1_760_000_000_000_000_000
    spans = [
        _span("d" * 32, "d1" * 8, None, "a_run", "AGENT", t0, t0 + 10_000, error="GraphRecursionError: limit"),
        _span("d" * 32, "d2" * 8, "d1" * 8, "b_step", "CHAIN", t0 + 500, t0 + 900, error="ValueError: bad input"),
        _span("d" * 32, "d3" * 8, "d1" * 8, "c_fetch", "TOOL", t0 + 1000, t0 + 2000, tool__name="c_fetch", http__status_code=200),
        _span("d" * 32, "d4" * 8, "d1" * 8, "z_lookup", "TOOL", t0 + 3000, t0 + 9000, error="TimeoutError: upstream timed out", tool__name="z_lookup"),
    ]
    got = _compare_with_the_file(engine, server, _write_traces(tmp_path / "timeouts.otlp.jsonl", [spans]), "timeouts")
    assert [(r["tool_error_rate"], r["timeout_rate"]) for r in got] == [(0.5, 0.5)]
