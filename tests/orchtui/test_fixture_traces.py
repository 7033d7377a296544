"""Analysis results on the real fixture files (tests/data/README.md says what each trace holds)."""

from __future__ import annotations

import pytest

from orchtui.analysis import Analyzer, TraceAnalysis
from orchtui.loading import load_paths
from orchtui.store import SpanStore
from tests.conftest import DATA

LANGGRAPH = ["langgraph-openinference.otlp.jsonl", "langgraph-traceai.otlp.jsonl"]


def analyses_of(*paths: str) -> dict[str, TraceAnalysis]:
    """Traces by name (the three LangSmith files all name theirs `ChatOpenAI`: use all_analyses for those)."""
    return {a.name: a for a in all_analyses(*paths)}


def all_analyses(*paths: str) -> list[TraceAnalysis]:
    store = SpanStore()
    report = load_paths([str(DATA / p) for p in paths], store)
    assert not report.unreadable
    return Analyzer(store).all()


def codes(analysis: TraceAnalysis, severity: str | None = None) -> set[str]:
    return {f.code for f in analysis.findings if severity is None or f.severity == severity}


@pytest.fixture(params=LANGGRAPH)
def langgraph(request) -> dict[str, TraceAnalysis]:
    return analyses_of(f"langgraph/{request.param}")


def test_langgraph_traces_match_the_fixture_table(langgraph):
    expected = {
        # name: (spans, llm calls, prompt, completion, route, status, stop reason)
        "vendor_exception": (23, 3, 590, 55, ["lookup_policy", "compliance_review"], "ok", "stop"),
        "policy_loop": (39, 5, 900, 60, ["lookup_policy"] * 4, "error", "tool_calls"),
        "flaky_tool": (9, 1, 90, 10, ["flaky_search"], "error", "tool_calls"),
        "long_answer": (7, 1, 50, 4096, [], "ok", "length"),
    }
    assert set(langgraph) == set(expected)
    for name, (spans, llms, prompt, completion, route, status, stop) in expected.items():
        analysis = langgraph[name]
        assert analysis.span_count == spans, name
        assert len(analysis.llm_calls) == llms, name
        assert (analysis.tokens.prompt, analysis.tokens.completion) == (prompt, completion), name
        assert analysis.tokens.total == prompt + completion
        assert analysis.route == route, name
        assert analysis.status == status, name
        assert analysis.stop_reason == stop, name
        assert not analysis.in_progress


def test_policy_loop_is_a_loop_and_vendor_exception_is_not(langgraph):
    loop = langgraph["policy_loop"]
    assert {"loop.repeated_call", "loop.runtime_limit"} <= codes(loop)
    repeated = next(f for f in loop.findings if f.code == "loop.repeated_call")
    assert repeated.evidence["count"] == 4 and "refund policy" in repeated.message
    assert "GraphRecursionError" in next(f for f in loop.findings if f.code == "loop.runtime_limit").message
    assert not {c for c in codes(langgraph["vendor_exception"]) if c.startswith("loop.")}
    assert codes(langgraph["vendor_exception"], "critical") == set()
    assert codes(langgraph["vendor_exception"], "warn") == set()


def test_policy_loop_final_call_asked_for_a_tool_that_never_ran(langgraph):
    # The recursion limit fired after the 5th model call requested lookup_policy again.
    assert "stop_reason.dangling_tool_call" in codes(langgraph["policy_loop"], "critical")


def test_long_answer_is_truncated(langgraph):
    findings = langgraph["long_answer"].findings
    assert [(f.code, f.severity) for f in findings] == [("stop_reason.truncated", "critical")]


def test_flaky_tool_reports_the_unrecovered_tool_error(langgraph):
    (finding,) = [f for f in langgraph["flaky_tool"].findings if f.code == "tool.error"]
    assert finding.severity == "critical"
    assert "TimeoutError" in finding.message and "Traceback" not in finding.message


def test_traceai_and_openinference_agree_on_stop_reasons_and_findings():
    oi = analyses_of("langgraph/langgraph-openinference.otlp.jsonl")
    tai = analyses_of("langgraph/langgraph-traceai.otlp.jsonl")
    for name in oi:
        assert [s.stop_reason for s in oi[name].llm_calls] == [s.stop_reason for s in tai[name].llm_calls]
        assert codes(oi[name]) == codes(tai[name]), name
    every_traceai_call = [s for a in tai.values() for s in a.llm_calls]
    assert every_traceai_call and all(s.stop_reason != "missing" for s in every_traceai_call)
    assert not any("stop_reason.missing" in codes(a) for a in tai.values())


def test_cost_is_computed_offline_from_the_payload_model(langgraph):
    # The scripted model names itself gpt-4o-mini / gpt-4o in the LangChain response metadata only.
    analysis = langgraph["long_answer"]
    assert analysis.llm_calls[0].model == "gpt-4o-mini"
    assert analysis.cost_usd == pytest.approx(50 * 0.15e-6 + 4096 * 0.6e-6, rel=1e-6)
    assert analysis.cost_complete


def test_agents_openinference_traces():
    traces = analyses_of("openai-agents/agents-openinference.otlp.jsonl")
    assert set(traces) == {"triage_handoff", "guardrail_trip", "max_turns"}
    triage = traces["triage_handoff"]
    assert (triage.tokens.prompt, triage.tokens.completion, triage.tokens.total) == (696, 81, 777)
    assert triage.route == ["handoff to billing_agent", "lookup_invoice"]
    assert triage.status == "ok" and codes(triage, "critical") == set()
    assert traces["guardrail_trip"].status == "error"  # only the turn span says so
    max_turns = traces["max_turns"]
    assert max_turns.status == "error"
    assert (max_turns.tokens.prompt, max_turns.tokens.completion) == (1480, 95)
    assert {"loop.repeated_call", "loop.runtime_limit", "efficiency.redundant_call"} <= codes(max_turns)


def test_collector_file_with_metrics_and_logs_keeps_every_trace():
    store = SpanStore()
    load_paths([str(DATA / "otlp/otel-demo-collector-file-exporter.jsonl")], store)
    assert store.span_count == 547
    assert store.skipped == {"metric records": 40, "log records": 16}
    assert store.errors == []
    analyses = Analyzer(store).all()
    assert sum(a.span_count for a in analyses) == 547
    assert all(a.tokens.total is None and a.cost_usd is None for a in analyses)


def test_agents_sdk_native_export_reads_like_its_openinference_twin():
    native = analyses_of("openai-agents/agents-native.jsonl")
    otlp = analyses_of("openai-agents/agents-openinference.otlp.jsonl")
    assert set(native) == set(otlp) == {"triage_handoff", "guardrail_trip", "max_turns"}
    for name in native:
        assert (native[name].tokens.prompt, native[name].tokens.completion) == (otlp[name].tokens.prompt, otlp[name].tokens.completion), name
        assert native[name].status == otlp[name].status, name
        assert len(native[name].llm_calls) == len(otlp[name].llm_calls), name
    assert native["triage_handoff"].route == ["handoff to billing_agent", "lookup_invoice"]
    assert {"loop.repeated_call", "loop.runtime_limit"} <= codes(native["max_turns"])
    # The SDK never exports finish reasons: a call followed by a tool run asked for it (inferred tool_calls); the
    # rest is one info finding, never a critical one per call
    loop_calls = native["max_turns"].llm_calls
    assert [c.stop_reason for c in loop_calls] == ["tool_calls"] * 5 and all(c.stop_reason_inferred for c in loop_calls)
    handoff = native["triage_handoff"]
    assert [c.stop_reason for c in handoff.llm_calls] == ["tool_calls", "tool_calls", "missing"]
    (missing,) = [f for f in handoff.findings if f.code == "stop_reason.missing"]
    assert missing.severity == "info" and missing.evidence["span_ids"] == [handoff.llm_calls[-1].span_id]
    assert codes(handoff, "critical") == set()


def test_langsmith_runs_and_vercel_spans_through_the_loader():
    langsmith = all_analyses("langsmith")
    assert len(langsmith) == 3
    assert all(a.stop_reason == "stop" and a.tokens.total and a.cost_usd for a in langsmith)
    vercel = all_analyses("vercel/ai-sdk-v6-all-spans.json")
    llm_calls = [span for a in vercel for span in a.llm_calls]
    assert len(llm_calls) == 4 and all(span.stop_reason == "stop" for span in llm_calls)
    assert sum(a.tokens.prompt or 0 for a in vercel if a.llm_calls) == 142


def test_console_and_protobuf_twins_give_the_same_report():
    for base in ("langgraph/langgraph-openinference", "langgraph/langgraph-traceai"):
        reports = [analyses_of(f"{base}.{ext}") for ext in ("otlp.jsonl", "otlp.pb", "console.json")]
        for name in reports[0]:
            facts = [(r[name].span_count, r[name].tokens.total, r[name].route, sorted(codes(r[name]))) for r in reports]
            assert facts[0] == facts[1] == facts[2], (base, name)
