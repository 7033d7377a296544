"""`orchtui routes` and `orchtui diff` end to end: tables, JSON documents and exit codes."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA
from tests.orchtui.test_cli_check import run

LANGGRAPH = str(DATA / "langgraph/langgraph-openinference.otlp.jsonl")
ROUTE_KEYS = {
    "route_id", "family", "path", "path_text", "paths", "traces", "share", "success_rate", "latency_ms", "tokens_per_trace",
    "cost_usd_per_trace", "cost_traces", "retries_per_trace", "tool_calls_per_trace", "tool_error_rate", "timeout_rate",
    "loop_rate", "stop_problem_rate", "models", "expensive", "expensive_reasons",
}
GOLDEN = """
[[route]]
match = "refund_*"
expected_tool_calls = [{ name = "lookup_order" }, { name = "retrieve_policy" }, { name = "issue_refund" }]
trajectory_mode = "in_order"
tool_args_match_mode = "ignore"
evaluators = ["TrajectoryMatch", "StopReason", "LoopDetection"]
[route.limits]
max_loop_rate = 0
min_pass_rate = 0.9
"""



@pytest.fixture
def gate(tmp_path) -> str:
    path = tmp_path / "gate.toml"
    path.write_text(GOLDEN)
    return str(path)


def demo_ids(demo: str) -> dict[str, list[str]]:
    """Root span name -> trace ids, oldest first (the demo's three refund runs: missed, found, skipped)."""
    _, out, _ = run("check", demo, "--json")
    ids: dict[str, list[str]] = {}
    for trace in json.loads(out)["traces"]:
        ids.setdefault(trace["name"], []).append(trace["trace_id"])
    return ids


def test_routes_table_flags_the_demos_expensive_fallback_and_exits_1(demo):
    code, out, _ = run("routes", demo)
    assert code == 1  # an expensive branch is a finding
    assert "orchtui routes (by path)" in out
    assert "◆ lookup_order › ⌕retrieve_policy ◆gpt-4o issue_refund ◆gpt-4o" in out  # the fallback path, its models told apart
    assert "Expensive branches" in out and "is 3.7x the rest of refund_request" in out
    assert "share: of the family's traces" in out  # the legend for the short headers


def test_routes_json_has_one_documented_row_per_route(demo):
    code, out, _ = run("routes", demo, "--json")
    document = json.loads(out)
    assert code == 1 and document["version"] == 1 and document["by"] == "path" and document["errors"] == []
    routes = document["routes"]
    assert len(routes) == 8  # six workflows, the refund one taking three paths
    for route in routes:
        assert set(route) == ROUTE_KEYS
    refunds = [r for r in routes if r["family"] == "refund_request"]
    assert sorted(r["share"] for r in refunds) == pytest.approx([1 / 3] * 3, abs=1e-4)
    (expensive,) = [r for r in routes if r["expensive"]]
    assert expensive["family"] == "refund_request" and expensive["models"] == ["gpt-4o", "gpt-4o-mini"]  # most used first
    assert [step["label"] for step in expensive["path"]][-2:] == ["issue_refund", "llm:gpt-4o"]
    assert expensive["cost_usd_per_trace"]["mean"] > 2 * min(r["cost_usd_per_trace"]["mean"] for r in refunds)


def test_routes_by_family_sums_the_paths(demo):
    code, out, _ = run("routes", demo, "--json", "--by", "family")
    families = {row["family"]: row for row in json.loads(out)["routes"]}
    assert code == 1 and len(families) == 6
    refund = families["refund_request"]
    assert refund["paths"] == 3 and refund["traces"] == 3 and refund["path"] is None and refund["expensive"]
    assert refund["expensive_reasons"][0].endswith("is 3.7x the rest of refund_request (median $0.00382)")


def test_routes_exit_0_when_no_route_is_flagged():
    code, out, _ = run("routes", LANGGRAPH, "--json")
    document = json.loads(out)
    assert code == 0 and len(document["routes"]) == 4 and not any(r["expensive"] for r in document["routes"])
    assert "evaluations" not in document["routes"][0]  # only with a gate file


def test_routes_with_a_gate_says_where_evaluations_fail_and_checks_limits(demo, gate):
    code, out, _ = run("routes", demo, "--spec", gate, "--json")
    document = json.loads(out)
    assert code == 1
    skipped = next(r for r in document["routes"] if r["family"] == "refund_request" and "retrieve_policy" not in r["path_text"])
    assert skipped["evaluations"]["traces"] == 1
    assert skipped["evaluations"]["trace_level"]["evaluators"] == {"TrajectoryMatch": 1}  # the retrieval it never made
    summarize = next(r for r in document["routes"] if r["family"] == "summarize_contract")
    failing_steps = [s for s in summarize["evaluations"]["steps"] if s["failed_traces"]]
    assert [s["key"] for s in failing_steps] == ["llm:gpt-4o"] and "StopReason" in failing_steps[0]["evaluators"]  # cut off
    limits = {limit["limit"]: limit for limit in document["route_limits"]}
    assert limits["max_loop_rate"]["passed"] is True
    assert limits["min_pass_rate"]["value"] == pytest.approx(2 / 3, abs=1e-4) and limits["min_pass_rate"]["passed"] is False

    code, out, _ = run("routes", demo, "--spec", gate)
    assert "Where evaluations fail: summarize_contract" in out and "route limits" in out


def test_routes_bad_usage_and_unreadable_input_exit_2(tmp_path, demo):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[route]]\nmatch = "x"\nlimits = { max_p95 = 3 }\n')
    code, _, err = run("routes", demo, "--spec", str(bad))
    assert code == 2 and "orchtui routes:" in err and "unknown limit(s) max_p95" in err
    code, _, err = run("routes", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "missing.jsonl" in err


def test_diff_shows_the_skipped_retrieval_and_exits_1(demo):
    ids = demo_ids(demo)
    _, found, skipped = ids["refund_request"]
    code, out, _ = run("diff", found[:10], skipped[:10], demo)
    assert code == 1
    assert "⌕ retrieve_policy │ - │" in out
    assert "1 skipped (⌕ retrieve_policy) · B vs A: -145 tokens" in out and "(5 steps)" in out


def test_diff_json_of_a_model_fallback(demo):
    missed, found, _ = demo_ids(demo)["refund_request"]
    code, out, _ = run("diff", found, missed, demo, "--json")
    document = json.loads(out)
    assert code == 1 and document["version"] == 1 and document["differs"] and not document["golden"]
    assert document["counts"] == {"same": 5, "changed": 1, "skipped": 0, "extra": 0, "repeated": 0, "moved": 0}
    (changed,) = [row for row in document["rows"] if row["op"] == "changed"]
    assert changed["changes"] == ["model gpt-4o-mini -> gpt-4o"] and changed["tokens_delta"] == 1583
    assert document["a"]["trace_id"] == found and document["b"]["trace_id"] == missed


def test_diff_against_a_golden_route(demo, gate):
    skipped = demo_ids(demo)["refund_request"][2]
    for reference in ("golden", "refund_*"):
        code, out, _ = run("diff", reference, skipped, demo, "--spec", gate, "--json")
        document = json.loads(out)
        assert code == 1 and document["golden"] and document["a"]["label"] == "golden route refund_*"
        assert [(row["op"], (row["a"] or row["b"])["name"]) for row in document["rows"]] == [
            ("same", "lookup_order"), ("skipped", "retrieve_policy"), ("same", "issue_refund"),
        ]
    found = demo_ids(demo)["refund_request"][1]
    assert run("diff", "golden", found, demo, "--spec", gate)[0] == 0  # the golden path kept: exit 0


def test_diff_names_ids_and_errors(demo):
    code, _, err = run("diff", "refund_request", "refund_request", demo)
    assert code == 0 and err.count("names 3 traces; using the earliest") == 1  # said once
    code, _, err = run("diff", "nope", "refund_request", demo)
    assert code == 2 and "no trace has the id or name 'nope'" in err
    code, _, err = run("diff", "golden", "refund_request", demo)
    assert code == 2 and "'golden'" in err  # without --spec, golden is just a name


def test_routes_with_a_gate_evaluates_each_trace_as_it_is_read(demo, gate, monkeypatch):
    """The gate's evaluators run while each trace's payloads are in memory (orchtui/evaluating.py): no line of the
    file is parsed a second time to evaluate it."""
    from parsers import payloads

    monkeypatch.setattr(payloads, "stats", payloads.PayloadStats())
    code, out, _ = run("routes", demo, "--spec", gate, "--json")
    assert code == 1 and any("evaluations" in route for route in json.loads(out)["routes"])
    assert payloads.stats.reads == 0
