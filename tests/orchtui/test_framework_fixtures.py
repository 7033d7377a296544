"""Every recorded framework file (tests/data/frameworks) reads right on every axis its producer records.

The files were recorded from real frameworks and instrumentors against a scripted model server
(tests/fixtures/record); each truth sidecar says what the server served and which tools ran. The comparison is
tests/framework_truth.py; what a producer cannot record is listed there, with the reason, and nothing else may
differ.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchtui.report import check_document
from tests.framework_truth import (
    FRAMEWORKS,
    UNRECORDED,
    analyse_file,
    check,
    run_analysis,
    stem_of,
    trace_files,
    truth_files,
    unrecorded,
)
from tests.spans import analyse

CASES = [(truth, path) for truth in truth_files() for path in trace_files(truth)]


def test_the_recordings_are_there():
    """Frameworks × instrumentors recorded (the README's matrix); a lost file must not pass silently."""
    stems = {stem_of(path) for _, path in CASES}
    assert len(stems) >= 30
    for truth in truth_files():
        names = {path.name.split(".", 1)[1] for path in trace_files(truth)}
        assert names in ({"otlp.jsonl", "otlp.pb"}, {"jsonl"}), truth.name  # OTLP files come in both encodings


@pytest.mark.parametrize(("truth", "path"), CASES, ids=[path.name for _, path in CASES])
def test_recorded_file_reads_right(truth: Path, path: Path):
    wrong = []
    for run in check(truth, path):
        known = unrecorded(stem_of(path), run.run)
        for axis, problems in run.problems.items():
            if axis not in known:
                wrong += [f"{run.run}: {axis}: {problem}" for problem in problems]
    assert not wrong, "\n".join(wrong)


def test_every_unrecorded_axis_is_still_unrecorded():
    """An entry in UNRECORDED whose axis now reads right is stale: the table must say only what is true."""
    needed: set[tuple[str, str, str]] = set()
    for truth, path in CASES:
        for run in check(truth, path):
            for axis in run.problems:
                needed.add((stem_of(path), run.run, axis))
    stale = []
    for (stem, run_name), axes in UNRECORDED.items():
        for axis in axes:
            if not any(s == stem and (run_name in ("*", r)) and a == axis for s, r, a in needed):
                stale.append(f"{stem} {run_name} {axis}")
    assert not stale, stale


@pytest.mark.parametrize("truth", [t for t in truth_files() if len(trace_files(t)) == 2], ids=lambda t: t.name)
def test_protobuf_and_json_read_the_same(truth: Path):
    """`check --json` gives the same document for a file's OTLP/JSON lines and its protobuf request."""
    jsonl, pb = trace_files(truth)
    documents = [check_document(sorted(analyse_file(p), key=lambda a: a.trace_id), []) for p in (jsonl, pb)]
    assert documents[0] == documents[1]


def test_a_router_fallback_names_both_models_and_flags_the_trace():
    """LiteLLM Router (OpenInference): gpt-4o answered 500, the router fell back to gpt-4o-mini."""
    run = run_analysis("litellm-openinference", "router_fallback")
    (fallback,) = [f for f in run.findings if f.code == "route.fallback"]
    assert (fallback.evidence["from"], fallback.evidence["to"]) == ("openai/gpt-4o", "openai/gpt-4o-mini")
    assert [f.severity for f in run.findings if f.code == "llm.error"] == ["warn"]  # recovered by the fallback
    assert "fallback" in run.flags and "error" not in run.flags


def test_tool_arguments_read_the_same_from_both_instrumentors():
    """LlamaIndex wraps arguments in `{"kwargs": ...}`, OpenInference's LangChain records a one-argument tool's bare
    value: read as what the tool received, a route compares equal across producers."""
    def calls(stem: str) -> list:
        return [(call.name, call.args) for call in run_analysis(stem, "clean").tool_calls]

    assert calls("llamaindex-openinference") == calls("llamaindex-traceai") == [
        ("lookup_policy", {"query": "refunds"}),
        ("order_status", {"order_id": "A-17"}),
    ]
    assert calls("langchain-openinference") == calls("langchain-traceai") == [
        ("lookup_order", {"order_id": "A-1"}),
        ("refund_order", {"order_id": "A-1"}),
    ]


def test_agent_spans_carry_their_agent_name():
    """CrewAI names its agent in graph.node.id, smolagents and ADK in the span name."""
    def agents(stem: str) -> set:
        return {s.agent_name for a in analyse_file(FRAMEWORKS / f"{stem}.otlp.jsonl") for s in a.tree.spans.values() if s.kind == "agent"}

    assert "Support lead" in agents("crewai-openinference")
    assert {"support_agent", "order_agent"} <= agents("smolagents-openinference")
    assert {"support", "billing"} <= agents("google-adk-native")
    for stem in ("llamaindex-openinference", "llamaindex-traceai"):  # only inside the workflow steps' payloads
        handoff = run_analysis(stem, "handoff")
        assert {s.agent_name for s in handoff.tree.spans.values()} >= {"triage_agent", "support_agent"}
        assert [c.name for c in handoff.tool_calls] == ["handoff to support_agent"]


def test_an_mcp_tool_call_counts_once_from_client_and_server_and_from_the_client_alone():
    """mcp 2.x writes `MCP send tools/call X` (client) around `tools/call X` (server): one call; a client whose
    server is not traced still shows the call."""
    run = run_analysis("mcp2-native", "tool_error")
    assert [(c.name, c.status) for c in run.tool_calls] == [("refund_order", "error")]
    client_only = [s for s in run.tree.spans.values() if s.name != "tools/call refund_order"]
    assert [c.name for c in analyse(*client_only).tool_calls] == ["refund_order"]


def test_a_step_that_failed_and_was_retried_does_not_fail_the_run():
    """smolagents: the step whose tool raised is an error, the next step went on and answered."""
    run = run_analysis("smolagents-openinference", "tool_error")
    assert any(f.code == "tool.error" for f in run.findings) and run.status == "ok"


def test_gateway_model_routes_are_priced_and_streamed_models_named():
    """ADK names `openai/gpt-4o-mini` (and writes gen_ai.system=gemini); traceAI-openai names a streamed call's model
    only in its request parameters."""
    adk = analyse_file(FRAMEWORKS / "google-adk-native.otlp.jsonl")
    assert all(a.cost_usd for a in adk if a.status != "error")
    streamed = run_analysis("mcp-traceai", "streamed")
    assert {c.model for c in streamed.llm_calls} == {"gpt-4o-mini"} and streamed.cost_usd
