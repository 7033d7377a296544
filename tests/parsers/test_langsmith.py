"""LangSmith runs: the SDK's real ingest payloads, and hand-made runs for the layouts and shapes they lack."""

from __future__ import annotations

import orjson

from parsers import parse_bytes, read_path
from parsers.langsmith import parse, parse_record
from parsers.span import AGENT, CHAIN, ERROR, LLM, OK, TOOL, UNSET, Source
from tests.conftest import DATA

LANGSMITH = DATA / "langsmith"
TRACE = "1b64098b-0000-4000-8000-000000000001"
# A LangChain-serialized AIMessage asking for one tool call.
AI_CALL = {
    "lc": 1,
    "type": "constructor",
    "kwargs": {"type": "ai", "content": "", "tool_calls": [{"name": "lookup", "args": {"id": 42}, "id": "c1"}]},
}
CHILD = "809ed3a2-0000-4000-8000-000000000002"


def lines(*records: dict) -> bytes:
    return b"\n".join(orjson.dumps(record) for record in records) + b"\n"


def test_wrapped_openai_call_post_and_patch_merge_into_one_span():
    result = read_path(LANGSMITH / "langsmith_py_wrap_openai_.json")
    assert result.format == "langsmith" and result.errors == []
    (span,) = result.spans
    assert span.span_id == span.trace_id == "d0d84d31-923d-4cb5-94a8-40a0a0087578" and span.parent_id is None
    assert (span.name, span.kind, span.status) == ("ChatOpenAI", LLM, OK)
    assert (span.model, span.provider) == ("gpt-4o-mini", "openai")  # ls_model_name, not outputs.model's snapshot
    assert span.duration_ns == 1_118_333_000  # start from the post, end from the patch
    tokens = span.tokens
    assert (tokens.prompt, tokens.completion, tokens.total, tokens.cache_read, tokens.reasoning) == (9, 9, 18, 0, 0)
    assert span.finish_reasons == ("stop",) and span.stop_reason == "stop"
    assert [(m.role, m.content) for m in span.messages] == [
        ("user", "howdy"),
        ("assistant", "Howdy! How can I assist you today?"),
    ]
    assert orjson.loads(span.input)["messages"] == [{"role": "user", "content": "howdy"}]
    assert orjson.loads(span.output)["model"] == "gpt-4o-mini-2024-07-18"
    assert span.attributes["langsmith.metadata.ls_model_type"] == "chat"
    assert span.attributes["langsmith.span.kind"] == "llm"


def test_reasoning_model_tokens():
    (span,) = read_path(LANGSMITH / "langsmith_py_wrap_openai_reasoning.json").spans
    assert span.model == "o1-mini"
    assert (span.tokens.prompt, span.tokens.completion, span.tokens.total) == (43, 2497, 2540)
    assert span.tokens.reasoning == 1408
    assert span.stop_reason == "stop"
    assert span.output_messages[0].content.startswith("Certainly! Below is a **Bash script**")


def test_streamed_call_usage_and_finish_reason_come_from_the_reduced_outputs():
    (span,) = read_path(LANGSMITH / "langsmith_py_wrap_openai_stream.json").spans
    assert (span.tokens.prompt, span.tokens.completion, span.tokens.total) == (9, 9, 18)
    assert span.finish_reasons == ("stop",)
    assert span.output_messages[0].content == "Howdy! How can I assist you today?"
    assert [e.name for e in span.events] == ["new_token"] * 12  # the raw chunks stay as events
    assert span.events[-1].attributes["token"]["usage"]["total_tokens"] == 18
    assert span.events[0].time_ns < span.events[-1].time_ns


def test_json_lines_of_runs_with_a_child_and_a_patch_on_a_later_line(tmp_path):
    data = lines(
        {
            "id": TRACE,
            "trace_id": TRACE,
            "name": "AgentExecutor",
            "run_type": "chain",
            "start_time": "2024-10-11T20:58:23.000000",  # API datetimes may lack a zone: UTC
            "dotted_order": f"20241011T205823000000Z{TRACE}",
            "inputs": {"input": "refund order 42"},
            "total_tokens": 30,  # the API's roll-up of the children: never a second count
            "extra": {"metadata": {"thread_id": "conv-7", "lc_agent_name": "support"}},
        },
        {
            "id": CHILD,
            "trace_id": TRACE,
            "parent_run_id": TRACE,
            "name": "ChatOpenAI",
            "run_type": "llm",
            "start_time": "2024-10-11T20:58:23.100000+00:00",
            "end_time": "2024-10-11T20:58:23.600000+00:00",
            "extra": {"invocation_params": {"model": "gpt-4o"}, "metadata": {"ls_provider": "openai"}},
            "prompt_tokens": 20,
            "completion_tokens": 10,
            "total_tokens": 30,
            "total_cost": "0.00015",
            "inputs": {"messages": [[{"lc": 1, "type": "constructor", "kwargs": {"type": "human", "content": "hi"}}]]},
            "outputs": {"generations": [[{"text": "", "generation_info": {"finish_reason": "tool_calls"}, "message": AI_CALL}]]},
        },
        {"patch": [{"id": TRACE, "end_time": "2024-10-11T20:58:24.000000", "outputs": {"output": "refunded"}}]},
    )
    path = tmp_path / "runs.jsonl"
    path.write_bytes(data)
    result = read_path(path)
    assert result.errors == []
    root, child = result.spans
    assert (root.kind, root.agent_name, root.session_id) == (AGENT, "support", "conv-7")
    assert root.status == OK and root.duration_ns == 1_000_000_000  # the patch on line 3 closed it
    assert root.tokens is None and root.output == '{"output":"refunded"}'
    assert (child.parent_id, child.trace_id, child.kind) == (TRACE, TRACE, LLM)
    assert (child.model, child.provider, child.cost_usd) == ("gpt-4o", "openai", 0.00015)
    assert (child.tokens.prompt, child.tokens.completion, child.tokens.total) == (20, 10, 30)
    assert child.stop_reason == "tool_calls"
    assert [m.role for m in child.input_messages] == ["user"]
    assert [(c.name, c.arguments, c.id) for c in child.requested_tool_calls] == [("lookup", {"id": 42}, "c1")]


def test_js_sdk_run_epoch_ms_times_and_parent_from_dotted_order():
    record = {
        "id": CHILD,
        "name": "search",
        "run_type": "retriever",
        "start_time": 1728803137170,
        "end_time": 1728803138170,
        "dotted_order": f"20241013T065537170000Z{TRACE}.20241013T065537170000Z{CHILD}",
    }
    (span,) = parse_record(record, Source("js"))
    assert span.start_ns == 1728803137170_000000 and span.duration_ns == 1_000_000_000
    assert span.parent_id == TRACE and span.trace_id == TRACE  # no parent_run_id / trace_id: dotted_order says
    assert span.kind == "retriever"


def test_errored_run_keeps_the_first_line_as_message_and_the_trace_as_attribute():
    error = "ValueError('vendor not found')\n\nTraceback (most recent call last):\n  File \"x.py\", line 1"
    record = {
        "id": CHILD,
        "trace_id": TRACE,
        "parent_run_id": TRACE,
        "name": "lookup_vendor",
        "run_type": "tool",
        "start_time": "2024-10-11T20:58:23Z",
        "end_time": "2024-10-11T20:58:24Z",
        "error": error,
        "inputs": {"input": "{'vendor': 'Acme', 'amount': 25000}"},  # str(dict), as LangChain's tracer writes it
        "events": [{"name": "start", "time": "2024-10-11T20:58:23Z"}, {"name": "error", "time": "2024-10-11T20:58:24Z"}],
    }
    (span,) = parse_record(record, Source("x"))
    assert (span.status, span.status_message) == (ERROR, "ValueError('vendor not found')")
    assert span.attributes["langsmith.error"] == error
    assert (span.kind, span.tool_name, span.tool_args) == (TOOL, "lookup_vendor", {"vendor": "Acme", "amount": 25000})
    assert [e.name for e in span.events] == ["start", "error"]


def test_tool_run_result_and_call_id_from_a_serialized_tool_message():
    record = {
        "id": CHILD,
        "trace_id": TRACE,
        "name": "lookup_policy",
        "run_type": "tool",
        "inputs": {"input": "vendor exception"},
        "outputs": {"output": {"lc": 1, "kwargs": {"content": "Policy 7", "tool_call_id": "call_1"}}},  # a ToolMessage
    }
    (span,) = parse_record(record, Source("x"))
    assert (span.tool_args, span.output, span.tool_call_id) == ("vendor exception", "Policy 7", "call_1")
    assert span.status == UNSET  # no end_time yet


def test_raw_openai_response_usage_with_details():
    record = {
        "id": CHILD,
        "trace_id": TRACE,
        "name": "chat",
        "run_type": "llm",
        "outputs": {
            "model": "gpt-4o-2024-08-06",
            "choices": [{"finish_reason": "length", "message": {"role": "assistant", "content": "Once upon"}}],
            "usage": {
                "prompt_tokens": 120,
                "completion_tokens": 16,
                "total_tokens": 136,
                "prompt_tokens_details": {"cached_tokens": 64},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        },
    }
    (span,) = parse_record(record, Source("x"))
    assert span.model == "gpt-4o-2024-08-06"  # no metadata or invocation params: the response names it
    tokens = span.tokens
    assert (tokens.prompt, tokens.completion, tokens.total) == (120, 16, 136)
    assert (tokens.cache_read, tokens.reasoning) == (64, 0)
    assert span.stop_reason == "length"


def test_retry_markers_tags_and_events():
    tagged = {"id": "a", "trace_id": TRACE, "name": "step", "run_type": "chain", "tags": ["seq:step:1", "retry:attempt:3"]}
    retried = {
        "id": "b",
        "trace_id": TRACE,
        "name": "ChatOpenAI",
        "run_type": "llm",
        "events": [
            {"name": "retry", "kwargs": {"attempt": 1, "outcome": "failed", "exception_type": "RateLimitError"}},
            {"name": "retry", "kwargs": {"attempt": 2, "outcome": "failed"}},
        ],
    }
    plain = {"id": "c", "trace_id": TRACE, "name": "step", "run_type": "chain", "tags": ["seq:step:1"]}
    spans = {s.span_id: s for s in parse_record([tagged, retried, plain], Source("x"))}
    assert spans["a"].retry_attempt == 3
    assert spans["b"].retry_attempt == 3  # events name the attempts that failed; the run's last one is the third
    assert spans["b"].events[0].attributes["exception_type"] == "RateLimitError"
    assert spans["c"].retry_attempt is None


def test_langgraph_metadata_and_kinds():
    def run(name: str, run_type: str, **metadata) -> dict:
        return {"id": name, "trace_id": TRACE, "name": name, "run_type": run_type, "extra": {"metadata": metadata}}

    records = [
        run("agent", "chain", langgraph_step=3, langgraph_node="agent", thread_id="t-1"),
        run("format", "prompt"),
        run("StrOutputParser", "parser"),
        run("embed", "embedding"),
    ]
    spans = {s.name: s for s in parse_record(records, Source("x"))}
    agent = spans["agent"]
    assert (agent.kind, agent.graph_step, agent.graph_node, agent.session_id) == (AGENT, 3, "agent", "t-1")
    assert (spans["format"].kind, spans["StrOutputParser"].kind, spans["embed"].kind) == (CHAIN, CHAIN, "embedding")


def test_a_patch_seen_alone_still_reads_as_a_timed_llm_call():
    """A follower meeting the patch line without its post: start from dotted_order, kind from ls_model_type."""
    payload = orjson.loads((LANGSMITH / "langsmith_py_wrap_openai_.json").read_bytes())
    (span,) = parse_record({"patch": payload["patch"]}, Source("x"))
    assert span.kind == LLM and span.status == OK
    assert span.duration_ns == 1_118_333_000
    assert span.tokens.total == 18


def test_pretty_printed_array_of_runs_and_bad_records():
    runs = [{"id": "a", "trace_id": TRACE, "name": "one", "run_type": "chain"}, {"name": "no id"}, 7]
    result = parse_bytes(orjson.dumps(runs, option=orjson.OPT_INDENT_2), "export.json")
    assert result.format == "langsmith"
    assert [s.name for s in result.spans] == ["one"]
    assert [e.source for e in result.errors] == ["export.json[1]", "export.json[2]"]


def test_truncated_last_line_is_reported_and_the_rest_read():
    data = lines({"id": "a", "trace_id": TRACE, "name": "one", "run_type": "chain"}) + b'{"id": "b", "trace_'
    result = parse(data, "live.jsonl")
    assert [s.name for s in result.spans] == ["one"]
    assert [(e.source, e.message) for e in result.errors] == [
        ("live.jsonl:2", "incomplete last line (is the file still being written?)")
    ]
