"""`orchtui routes clickhouse://…` over the exporter's JSON schema (its `json` option: attribute columns of the type
JSON, which stores a dotted key such as `llm.token_count.prompt` as a path of nested objects, values typed as
`json.Marshal(attributes.AsRaw())` writes them): the routes computed in ClickHouse equal those of loading the same
spans (`pushdown=0`), and those of the Map-typed table."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson
import pytest

from orchtui.remote import clickhouse as ch
from orchtui.remote import clickhouse_routes as routes
from parsers.otlp_json import decode_value
from tests.orchtui.test_cli_check import run
from tests.orchtui.test_remote_clickhouse import COMPARED, FILES, _close

chdb = pytest.importorskip("chdb", reason="chdb (the test extra) runs ClickHouse in-process")

from tests.orchtui.clickhouse_shim import DDL, Engine, Server, rows_from_request  # noqa: E402

# The exporter's JSON-schema traces table (opentelemetry-collector-contrib exporter/clickhouseexporter
# internal/sqltemplates/traces_json_table.sql, with its attribute-keys columns), placeholders filled as its defaults
# render them: database `otel`, no cluster, MergeTree(), no TTL.
JSON_DDL = """
CREATE TABLE IF NOT EXISTS otel.{table} (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes JSON CODEC(ZSTD(1)),
    ResourceAttributesKeys Array(LowCardinality(String)) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes JSON CODEC(ZSTD(1)),
    SpanAttributesKeys Array(LowCardinality(String)) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes JSON
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes JSON
    ) CODEC(ZSTD(1)),
    INDEX idx_res_attr_keys ResourceAttributesKeys TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_keys SpanAttributesKeys TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1
"""


def _raw(value):
    """pcommon.Value.AsRaw() as encoding/json writes it: bytes as base64, maps and arrays as they are."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list):
        return [_raw(item) for item in value]
    if isinstance(value, dict):
        return {key: _raw(item) for key, item in value.items()}
    return value


def _attributes(key_values) -> dict:
    return {kv["key"]: _raw(decode_value(kv.get("value"))) for kv in key_values or () if isinstance(kv, dict) and isinstance(kv.get("key"), str)}


def _flattened_keys(attributes: dict, prefix: str = "") -> list[str]:
    """internal.UniqueFlattenedAttributes: every leaf path, sorted."""
    keys = []
    for key, value in attributes.items():
        path = f"{prefix}.{key}" if prefix else key
        keys.extend(_flattened_keys(value, path) if isinstance(value, dict) else [path])
    return sorted(set(keys))


def json_rows(path) -> list[dict]:
    """The JSON exporter's rows for an OTLP/JSON Lines file: the Map exporter's rows (the shim) with the attribute
    columns as typed JSON objects and the attribute-keys columns."""
    rows = []
    for line in Path(path).read_bytes().splitlines():
        if not line.strip():
            continue
        request = orjson.loads(line)
        spans = [(resource_spans, span) for resource_spans in request.get("resourceSpans") or ()
                 for scope_spans in resource_spans.get("scopeSpans") or () for span in scope_spans.get("spans") or ()]
        for row, (resource_spans, span) in zip(rows_from_request(request), spans, strict=True):
            resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
            attributes = _attributes(span.get("attributes"))
            row.update({
                "ResourceAttributes": resource, "ResourceAttributesKeys": _flattened_keys(resource),
                "SpanAttributes": attributes, "SpanAttributesKeys": _flattened_keys(attributes),
                "Events.Attributes": [_attributes(event.get("attributes")) for event in span.get("events") or ()],
                "Links.Attributes": [_attributes(link.get("attributes")) for link in span.get("links") or ()],
            })
            rows.append(row)
    return rows



@pytest.fixture(scope="module")
def server(tmp_path_factory, demo):
    engine = Engine(tmp_path_factory.mktemp("chdb-json") / "db")
    engine.run_script(DDL)  # the database, and the Map-typed table beside it
    for table, paths in (("json_all", [demo, *FILES]), ("json_demo", [demo])):
        engine.query(JSON_DDL.format(table=table))
        for path in paths:
            engine.insert(f"otel.{table}", json_rows(path))
    for path in FILES:
        engine.insert("otel.otel_traces", rows_from_request_file(path))
    try:
        with Server(engine) as server:
            yield server
    finally:
        engine.close()


@pytest.fixture(autouse=True)
def no_password(monkeypatch, tmp_path):
    monkeypatch.delenv("CLICKHOUSE_PASSWORD", raising=False)
    monkeypatch.setenv("ORCHTUI_CONFIG", str(tmp_path / "none.toml"))


def rows_from_request_file(path):
    from tests.orchtui.clickhouse_shim import rows_from_file

    return rows_from_file(path)


def _routes(server, **query) -> tuple[int, dict, str]:
    code, out, err = run("routes", "--json", server.url(since="all", **query))
    return code, json.loads(out) if out else {}, err


def test_the_table_holds_dotted_keys_as_json_paths(server):
    """The premise: the JSON column has no `llm.token_count.prompt` key at its top level, only a path."""
    top = server.engine.query("SELECT DISTINCT arrayJoin(JSONExtractKeys(toJSONString(SpanAttributes))) AS k FROM otel.json_demo ORDER BY k")
    paths = server.engine.query("SELECT DISTINCT arrayJoin(JSONAllPaths(SpanAttributes)) AS k FROM otel.json_demo ORDER BY k")
    top_keys = {orjson.loads(line)["k"] for line in top.splitlines()}
    all_paths = {orjson.loads(line)["k"] for line in paths.splitlines()}
    assert "openinference.span.kind" in all_paths and "llm.token_count.prompt" in all_paths
    assert "llm" in top_keys and "llm.token_count.prompt" not in top_keys
    assert server.engine.query("SELECT type FROM system.columns WHERE database = 'otel' AND table = 'json_demo' "
                               "AND name = 'SpanAttributes'").strip() == b'{"type":"JSON"}'


@pytest.mark.parametrize("by", ["path", "family"])
def test_pushed_down_routes_over_json_attributes_equal_loading_the_spans(server, by):
    before = len(server.queries)
    code, pushed, err = run_routes(server, by, table="json_demo")
    sent = server.queries[before:]
    assert not any("SpanId IN" in sql for sql, _ in sent) and "JSONAllPaths(SpanAttributes)" in sent[1][0]
    code_loaded, loaded, _ = run_routes(server, by, table="json_demo", pushdown=0)
    assert code == code_loaded == 1, err  # the demo's expensive fallback is found by both
    assert pushed["computed_in"] == "clickhouse" and "computed_in" not in loaded
    assert [r["route_id"] for r in pushed["routes"]] == [r["route_id"] for r in loaded["routes"]]
    assert len(pushed["routes"]) >= 4 and any(r["tokens_per_trace"] for r in pushed["routes"])
    for got, want in zip(pushed["routes"], loaded["routes"]):
        for key in COMPARED:
            assert _close(want[key], got[key]), (want["family"], key, want[key], got[key])


def run_routes(server, by, **query):
    code, out, err = run("routes", "--json", "--by", by, server.url(since="all", **query))
    return code, json.loads(out), err


def test_framework_traces_over_json_attributes_route_as_over_the_map_table(server):
    """Recorded OpenInference and MCP traces (flattened message keys, tool calls): the JSON table's pushed-down
    routes equal the Map-typed table's, and the spans loaded from the JSON table."""
    code, from_json, err = run_routes(server, "path", table="json_all")
    assert code in (0, 1), err
    by_id = {r["route_id"]: r for r in from_json["routes"]}
    _, from_map, _ = run_routes(server, "path", table="otel_traces")
    _, loaded, _ = run_routes(server, "path", table="json_all", pushdown=0)
    loaded_ids = {r["route_id"] for r in loaded["routes"]}
    for want in from_map["routes"]:
        got = by_id.get(want["route_id"])
        assert got is not None, want["path_text"]
        assert got["route_id"] in loaded_ids, want["path_text"]
        for key in ("path_text", "traces", "success_rate", "latency_ms", "tokens_per_trace", "cost_usd_per_trace",
                    "tool_calls_per_trace", "tool_error_rate", "models"):
            assert _close(want[key], got[key]), (want["path_text"], key, want[key], got[key])


def test_the_vocabulary_of_a_json_column_names_the_dotted_keys(server):
    url = ch.parse_url(server.url(since="all", table="json_all"))
    client = ch.ClickHouseClient(url, secret="")
    try:
        v = routes.vocabulary(client, ch.describe(client), url)
    finally:
        client.close()
    assert {"openinference.span.kind", "llm.token_count.prompt", "llm.model_name"} <= v.keys
    assert v.all_keys == "JSONAllPaths(SpanAttributes)"
    assert v.call_keys and all(any(p.match(key) for p in routes._CALL_KEYS) for key in v.call_keys)


def test_only_tool_call_keys_made_of_the_vocabulary_and_digits_reach_the_sql():
    """Keys come from the store: one that is not exactly a flattened tool-call key is never written into the SQL."""
    hostile = "llm.output_messages.0.message.tool_calls.0.tool_call.function.name') OR 1 --"
    good = "llm.output_messages.0.message.tool_calls.12.tool_call.function.name"

    class Answers:
        url = ch.parse_url("clickhouse://h/otel?since=all")

        def rows(self, sql, params):
            return iter([{"present": ["llm.model_name", "not.ours"], "matched": [], "exceptions": 0,
                          "call_keys": [hostile, good, good + "\n", "llm.output_messages.\u0661.message.tool_calls.0.tool_call.function.name", 7]}])

    schema = ch.Schema({"TraceId": "String", "SpanId": "String", "Timestamp": "DateTime64(9)", "SpanAttributes": "JSON"})
    v = routes.vocabulary(Answers(), schema, Answers.url)
    assert v.keys == {"llm.model_name"} and v.call_keys == (good,)
    fm = routes.attribute_map(schema, v)
    assert "getSubcolumn(SpanAttributes, 'llm.model_name')" in fm and good in fm and "OR 1" not in fm
