"""OpenAI Agents SDK native exports: the real three-run fixture (see tests/data/openai-agents/README.md)."""

from __future__ import annotations

from collections import defaultdict

import orjson
import pytest

from parsers import parse_bytes, read_path
from parsers.agents_sdk import parse, parse_record
from parsers.read import iter_read_path
from parsers.span import AGENT, CHAIN, ERROR, GUARDRAIL, HANDOFF, LLM, OK, TOOL, Source, Span
from tests.conftest import DATA

NATIVE = DATA / "openai-agents" / "agents-native.jsonl"
SEARCH = ("search_kb", {"query": "reset password without 2FA device"})


@pytest.fixture(scope="module")
def traces() -> dict[str, list[Span]]:
    """Workflow name -> its spans in start order."""
    result = read_path(NATIVE)
    assert result.format == "openai-agents" and result.errors == [] and result.skipped == {}
    by_trace: dict[str, list[Span]] = defaultdict(list)
    for span in result.spans:
        by_trace[span.trace_id].append(span)
    named = {}
    for spans in by_trace.values():
        spans.sort(key=lambda s: s.start_ns)
        (root,) = [s for s in spans if s.parent_id is None]
        named[root.name] = spans
    return named


def llm_tokens(spans: list[Span]) -> list[tuple[int, int]]:
    return [(s.tokens.prompt, s.tokens.completion) for s in spans if s.kind == LLM]


def test_three_traces_36_spans_named_after_their_workflows(traces):
    counts = {name: len(spans) for name, spans in traces.items()}
    assert counts == {"triage_handoff": 11, "guardrail_trip": 8, "max_turns": 17}
    assert [(s.kind, s.name) for s in traces["triage_handoff"]] == [
        (CHAIN, "triage_handoff"),
        (AGENT, "triage_agent"),
        (CHAIN, "turn"),
        (LLM, "response"),
        (HANDOFF, "handoff to billing_agent"),
        (AGENT, "billing_agent"),
        (CHAIN, "turn"),
        (LLM, "response"),
        (TOOL, "lookup_invoice"),
        (CHAIN, "turn"),
        (LLM, "response"),
    ]
    kinds = [s.kind for s in traces["guardrail_trip"]]
    assert kinds == [CHAIN, AGENT, CHAIN, GUARDRAIL, CHAIN, AGENT, CHAIN, LLM]
    assert traces["guardrail_trip"][4].name == "Agent workflow"  # the classifier's nested run
    assert [s.name for s in traces["max_turns"] if s.kind == LLM] == ["generation"] * 5


def test_tokens_per_llm_call_and_per_trace_count_once(traces):
    assert llm_tokens(traces["triage_handoff"]) == [(142, 18), (236, 22), (318, 41)]
    assert llm_tokens(traces["guardrail_trip"]) == [(96, 24)]
    assert llm_tokens(traces["max_turns"]) == [(180, 19), (238, 19), (296, 19), (354, 19), (412, 19)]
    totals = {}
    for name, spans in traces.items():
        with_tokens = [s for s in spans if s.tokens is not None]
        assert all(s.kind == LLM for s in with_tokens)  # task and turn usage repeats it: never a second count
        totals[name] = tuple(sum(getattr(s.tokens, f) for s in with_tokens) for f in ("prompt", "completion", "total"))
    assert totals == {"triage_handoff": (696, 81, 777), "guardrail_trip": (96, 24, 120), "max_turns": (1480, 95, 1575)}
    task = traces["triage_handoff"][0]
    assert task.attributes["openai_agents.data.usage"]["total_tokens"] == 777  # kept for display
    assert traces["triage_handoff"][2].attributes["openai_agents.data.usage"]["input_tokens"] == 142


def test_how_the_failed_runs_ended(traces):
    guarded = traces["guardrail_trip"]
    failed = [(s.kind, s.name, s.status_message) for s in guarded if s.status == ERROR]
    assert failed == [(CHAIN, "turn", 'Guardrail tripwire triggered: {"guardrail":"refund_abuse_guardrail"}')]
    guardrail = guarded[3]
    assert guardrail.status == OK and guardrail.attributes["openai_agents.triggered"] is True
    looped = traces["max_turns"]
    failed = [(s.kind, s.name, s.status_message) for s in looped if s.status == ERROR]
    assert failed == [(AGENT, "kb_agent", 'Max turns exceeded: {"max_turns":5}')]
    assert looped[1].attributes["openai_agents.error"] == {"message": "Max turns exceeded", "data": {"max_turns": 5}}
    for spans in traces.values():  # the task span never says how the run ended
        assert spans[0].status == OK
    assert all(s.status == OK for s in traces["triage_handoff"])


def test_tool_calls_and_handoff(traces):
    searches = [s for s in traces["max_turns"] if s.kind == TOOL]
    assert [(s.tool_name, s.tool_args) for s in searches] == [SEARCH] * 5
    assert searches[0].output == "No articles matched. Try different keywords."
    (invoice,) = [s for s in traces["triage_handoff"] if s.kind == TOOL]
    assert (invoice.tool_name, invoice.tool_args, invoice.input) == (
        "lookup_invoice",
        {"invoice_id": "INV-1042"},
        '{"invoice_id":"INV-1042"}',
    )
    assert orjson.loads(invoice.output)["charges"][0] == {"date": "2026-01-03", "amount": 49.0}
    (handoff,) = [s for s in traces["triage_handoff"] if s.kind == HANDOFF]
    assert (handoff.input, handoff.output, handoff.agent_name) == ("triage_agent", "billing_agent", "triage_agent")


def test_turns_are_graph_steps_across_agents(traces):
    turns = [(s.graph_step, s.agent_name) for s in traces["triage_handoff"] if s.name == "turn"]
    assert turns == [(1, "triage_agent"), (2, "billing_agent"), (3, "billing_agent")]
    assert [s.graph_step for s in traces["max_turns"] if s.name == "turn"] == [1, 2, 3, 4, 5]


def test_llm_spans_say_they_never_record_a_finish_reason(traces):
    llms = [s for spans in traces.values() for s in spans if s.kind == LLM]
    assert len(llms) == 9
    assert all(s.finish_reasons == () and not s.records_finish_reason for s in llms)
    # a generation span that asked for tools says so; a response span (no messages) shows nothing yet
    for s in llms:
        expected = ("tool_calls", True) if s.requested_tool_calls else ("missing", False)
        assert (s.stop_reason, s.stop_reason_inferred) == expected
    assert {s.model for s in traces["triage_handoff"] if s.kind == LLM} == {None}  # response spans carry no model
    first = next(s for s in traces["max_turns"] if s.kind == LLM)
    assert first.model == "gpt-4o-mini"
    assert [(c.name, c.arguments) for c in first.requested_tool_calls] == [SEARCH]
    assert [m.role for m in first.input_messages] == ["system", "user"]
    last = [s for s in traces["max_turns"] if s.kind == LLM][-1]
    assert [m.role for m in last.input_messages][-2:] == ["assistant", "tool"]


def test_trace_line_gives_session_and_agents_reach_their_calls(traces):
    for name, spans in traces.items():
        assert {s.session_id for s in spans} == {f"conv_{name}"}
        assert spans[0].attributes["openai_agents.trace.metadata"] == {"scenario": name}
    agents = [(s.kind, s.agent_name) for s in traces["triage_handoff"] if s.kind in (LLM, TOOL)]
    assert agents == [(LLM, "triage_agent"), (LLM, "billing_agent"), (TOOL, "billing_agent"), (LLM, "billing_agent")]
    assert [s.agent_name for s in traces["guardrail_trip"] if s.kind == LLM] == ["abuse_screen"]


def test_same_names_as_the_openinference_twin(traces):
    twin = read_path(DATA / "openai-agents" / "agents-openinference.otlp.jsonl").spans
    assert {s.name for s in twin if s.kind == HANDOFF} == {"handoff to billing_agent"}
    assert set(traces) <= {s.name for s in twin if s.parent_id is None}


def test_a_follower_reads_line_by_line():
    records = [orjson.loads(line) for line in NATIVE.read_bytes().splitlines()]
    assert parse_record(records[11], Source("f", 12)) == []  # the trace line: no span
    (task,) = parse_record(records[10], Source("f", 11))
    assert task.name == "triage_handoff" and task.parent_id is None  # named by the SDK itself
    streamed = [s for result, _ in iter_read_path(NATIVE) for s in result.spans]
    assert len(streamed) == 36
    assert sum(s.tokens.prompt for s in streamed if s.tokens) == 696 + 96 + 1480


def test_ingest_payload_and_a_nameless_task_named_after_the_workflow():
    objects = [orjson.loads(line) for line in NATIVE.read_bytes().splitlines()[:12]]
    task = objects[10]
    del task["span_data"]["data"]["name"]
    result = parse_bytes(orjson.dumps({"data": objects}), "ingest")
    assert result.format == "openai-agents" and result.errors == [] and len(result.spans) == 11
    (root,) = [s for s in result.spans if s.parent_id is None]
    assert root.name == "triage_handoff" and root.attributes["openai_agents.trace.group_id"] == "conv_triage_handoff"


def test_garbage_line_and_truncated_last_line():
    raw = NATIVE.read_bytes().splitlines()
    data = b"\n".join(raw[:4] + [b"<html>502 Bad Gateway</html>"] + raw[4:38]) + b"\n" + raw[38][:60]
    result = parse(data, "live.jsonl")
    assert [(e.source, e.message.split(":")[0]) for e in result.errors] == [
        ("live.jsonl:5", "not valid JSON"),
        ("live.jsonl:40", "incomplete last line (is the file still being written?)"),
    ]
    assert len(result.spans) == 36  # only the max_turns trace line was cut: its spans stand, without its session
    assert {s.session_id for s in result.spans if s.trace_id.startswith("trace_5dc9")} == {None}
