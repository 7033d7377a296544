"""Each detector on small hand-made traces: loops D1/D2/D3/D6, stop reasons §8.6, retries, redundancy."""

from __future__ import annotations

from parsers.span import ERROR
from tests.spans import analyse, codes, llm, root, span, tool


def findings(analysis, code):
    return [f for f in analysis.findings if f.code == code]


# -- loops --------------------------------------------------------------------------------------------------------

def test_d1_identical_calls_warn_at_three_and_critical_at_six():
    three = analyse(root(), *[tool("search", {"q": "paris"}) for _ in range(3)], llm())
    (finding,) = findings(three, "loop.repeated_call")
    assert finding.severity == "warn" and "called 3×" in finding.message and "consecutive" in finding.message
    six = analyse(root(), *[tool("search", {"q": "paris"}) for _ in range(6)], llm())
    assert findings(six, "loop.repeated_call")[0].severity == "critical"


def test_d1_argument_key_order_does_not_matter_but_types_do():
    same = analyse(root(), tool("t", {"a": 1, "b": 2}), tool("t", {"b": 2, "a": 1}), tool("t", {"a": 1, "b": 2}), llm())
    assert findings(same, "loop.repeated_call")
    differ = analyse(root(), tool("t", {"a": 1}), tool("t", {"a": "1"}), tool("t", {"a": True}), llm())
    assert not findings(differ, "loop.repeated_call")


def test_pagination_is_not_a_loop():
    pages = [tool("list_orders", {"page": page}, result=f"orders page {page}") for page in range(1, 9)]
    analysis = analyse(root(), *pages, llm())
    assert not [c for c in codes(analysis) if c.startswith("loop.")]
    assert not findings(analysis, "efficiency.redundant_call")


def test_d2_ping_pong_cycles():
    def run(cycles):
        calls = []
        for i in range(cycles):
            calls += [tool("search", {"q": "x"}, result=f"r{i}"), tool("read", {"id": 1}, result=f"d{i}")]
        return analyse(root(), *calls, llm())

    assert not findings(run(2), "loop.cycle")
    assert findings(run(3), "loop.cycle")[0].severity == "warn"
    four = findings(run(4), "loop.cycle")[0]
    assert four.severity == "critical" and "search → read" in four.message and "4×" in four.message


def test_d3_same_tool_same_result_any_args_is_no_progress():
    polls = [tool("job_status", {"poll": i}, result="status: pending") for i in range(5)]
    (finding,) = findings(analyse(root(), *polls, llm()), "loop.no_progress")
    assert finding.severity == "warn"
    ten = [tool("job_status", {"poll": i}, result="status: pending") for i in range(10)]
    assert findings(analyse(root(), *ten, llm()), "loop.no_progress")[0].severity == "critical"


def test_d6_runtime_cap_from_status_or_exception_event():
    from parsers.span import SpanEvent

    by_status = analyse(root(status=ERROR, status_message="Max turns exceeded: {'max_turns': 5}"), llm())
    assert findings(by_status, "loop.runtime_limit")[0].severity == "critical"
    event = SpanEvent("exception", 1, {"exception.type": "GraphRecursionError", "exception.message": "Recursion limit of 25 reached"})
    by_event = analyse(root(status=ERROR, events=[event]), llm())
    assert findings(by_event, "loop.runtime_limit")
    assert not findings(analyse(root(status=ERROR, status_message="ValueError: bad input"), llm()), "loop.runtime_limit")


# -- stop reasons --------------------------------------------------------------------------------------------------

def test_missing_stop_reason_is_critical_on_the_final_call_and_warn_before():
    analysis = analyse(root(), llm(finish=(), calls=[("t", {})]), tool("t", {}), llm(finish=()))
    severities = [f.severity for f in findings(analysis, "stop_reason.missing")]
    assert severities == ["warn", "critical"]


def test_missing_stop_reason_from_a_producer_that_never_records_one_is_info():
    analysis = analyse(root(), llm(finish=(), records_finish_reason=False))
    assert [f.severity for f in findings(analysis, "stop_reason.missing")] == ["info"]


def test_abnormal_reasons_map_to_their_findings():
    for raw, code in (("length", "stop_reason.truncated"), ("max_tokens", "stop_reason.truncated"),
                      ("content_filter", "stop_reason.filtered"), ("SAFETY", "stop_reason.filtered"),
                      ("error", "stop_reason.provider_error"), ("pause_turn", "stop_reason.paused")):
        final = analyse(root(), llm(finish=(raw,)))
        assert [(f.code, f.severity) for f in final.findings] == [(code, "critical")], raw
        earlier = analyse(root(), llm(finish=(raw,)), llm())
        assert [(f.code, f.severity) for f in earlier.findings] == [(code, "warn")], raw


def test_truncated_tool_arguments_outrank_tool_use():
    analysis = analyse(root(), llm(finish=("length",), calls=[("write_file", '{"path": "a.tx')]), tool("write_file", {}), llm())
    assert [f.code for f in analysis.findings] == ["stop_reason.truncated_tool_args"]


def test_dangling_tool_call_only_on_a_finished_trace():
    analysis = analyse(root(), llm(finish=("tool_calls",), calls=[("lookup", {})]))
    assert findings(analysis, "stop_reason.dangling_tool_call")[0].severity == "critical"
    running_root = root()
    running_root.end_ns = None
    live = analyse(running_root, llm(finish=("tool_calls",), calls=[("lookup", {})]))
    assert live.in_progress and not findings(live, "stop_reason.dangling_tool_call")


def test_a_final_tool_call_is_not_dangling_when_the_producer_records_neither_tools_nor_messages():
    """Anthropic's SDK spans (metadata only) keep the finish reason and nothing else: the loop's last tool ran (its
    recording says so), but no trace from that producer could show it. `check` and StopReason say so as info."""
    def bare(**fields):
        call = llm(finish=("tool_calls",), **fields)
        call.set_messages([], [])  # metadata only: no request, no response recorded
        return call

    metadata_only = analyse(root(), bare(), bare())
    assert not findings(metadata_only, "stop_reason.dangling_tool_call")
    (unseen,) = findings(metadata_only, "stop_reason.tools_unseen")
    assert unseen.severity == "info" and "neither tool spans nor messages" in unseen.message
    # One requested call recorded is enough to know the producer records them: then nothing running is dangling.
    recorded = analyse(root(), bare(), llm(finish=("tool_calls",), calls=[("lookup", {})]))
    assert findings(recorded, "stop_reason.dangling_tool_call")[0].severity == "critical"
    assert not findings(recorded, "stop_reason.tools_unseen")


def test_the_recorded_anthropic_sdk_loop_has_no_critical_finding(data_dir):
    from orchtui.analysis import Analyzer
    from orchtui.loading import load_paths
    from orchtui.store import SpanStore

    store = SpanStore()
    load_paths([str(data_dir / "frameworks" / "anthropic-native.otlp.jsonl")], store)
    (loop,) = [a for a in Analyzer(store).all() if a.trace_id == "b9939ad6d24aa6fcb1fcde04423140fb"]  # the "loop" run
    assert [f.code for f in loop.findings if f.severity == "critical"] == []
    assert "stop_reason.tools_unseen" in [f.code for f in loop.findings]


def test_a_requested_tool_answered_by_a_retriever_or_hand_off_is_not_dangling():
    """The final call asked for a tool and what ran next was a retrieval or a hand-off (an Agents SDK
    `transfer_to_…` runs as a hand-off span): the run went on, nothing dangles."""
    for kind in ("retriever", "handoff"):
        analysis = analyse(root(), llm(finish=("tool_calls",), calls=[("transfer_to_billing", {})]), span("next step", "root", kind=kind))
        assert not findings(analysis, "stop_reason.dangling_tool_call"), kind


def test_inconsistent_and_empty_stop():
    no_calls = analyse(root(), llm(finish=("tool_calls",)), llm())
    assert [(f.code, f.severity) for f in no_calls.findings] == [("stop_reason.inconsistent", "warn")]
    # a tool did run after it: the producer dropped the tool-call part (Mastra's exporter), information only
    part_dropped = analyse(root(), llm(finish=("tool_calls",)), tool("t", {}), llm())
    assert [(f.code, f.severity) for f in part_dropped.findings] == [("stop_reason.inconsistent", "info")]
    gemini_style = analyse(root(), llm(finish=("STOP",), calls=[("t", {})]), tool("t", {}), llm())
    assert [(f.code, f.severity) for f in gemini_style.findings] == [("stop_reason.inconsistent", "info")]
    empty = analyse(root(), llm(content="  "))
    assert [(f.code, f.severity) for f in empty.findings] == [("stop_reason.empty_stop", "warn")]


# -- retries and redundancy ----------------------------------------------------------------------------------------

def test_a_call_repeated_after_its_error_is_a_retry_not_redundancy():
    failed = tool("fetch", {"url": "u"}, status=ERROR, status_message="TimeoutError: slow")
    retried = tool("fetch", {"url": "u"})
    analysis = analyse(root(), failed, retried, llm())
    assert analysis.retry_attempts == {retried.span_id: 2}
    assert analysis.retries == 1
    assert not findings(analysis, "efficiency.redundant_call")
    (error,) = findings(analysis, "tool.error")
    assert error.severity == "warn" and "recovered" in error.message
    assert "retry" in analysis.flags


def test_three_attempts_is_a_retry_storm():
    attempts = [tool("fetch", {"url": "u"}, status=ERROR, status_message="503") for _ in range(3)] + [tool("fetch", {"url": "u"})]
    analysis = analyse(root(), *attempts, llm())
    assert sorted(analysis.retry_attempts.values()) == [2, 3, 4]
    assert {f.severity for f in findings(analysis, "retry")} == {"info", "warn"}


def test_explicit_retry_markers_count():
    marked = span("ChatOpenAI", "root", kind="chain", retry_attempt=2)
    assert analyse(root(), marked, llm()).retry_attempts == {marked.span_id: 2}


def test_redundant_call_after_success():
    analysis = analyse(root(), tool("search", {"q": "a"}), tool("other", {}), tool("search", {"q": "a"}), llm())
    (finding,) = findings(analysis, "efficiency.redundant_call")
    assert finding.severity == "warn" and "repeated 1×" in finding.message


def test_llm_error_retried_under_the_same_parent():
    first = llm(status=ERROR, status_message="RateLimitError", finish=())
    second = llm()
    analysis = analyse(root(), first, second)
    assert analysis.retry_attempts == {second.span_id: 2}
