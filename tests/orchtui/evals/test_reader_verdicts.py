"""Verdicts a person reading the trace would give (issue 16, "Verdicts that are wrong today"): each case below was
seen on a real fixture or an anchor-transcribed case, with the wrong verdict it used to get in its docstring."""

from __future__ import annotations

import json

import pytest

from orchtui.analysis import Analyzer
from orchtui.demo import write_demo_file
from orchtui.evals import Context, Trajectory, evaluate
from orchtui.loading import load_paths
from orchtui.store import SpanStore
from tests.conftest import DATA
from tests.orchtui.test_cli_check import run

LANGGRAPH_OI = DATA / "langgraph/langgraph-openinference.otlp.jsonl"
LANGGRAPH_TRACEAI = DATA / "langgraph/langgraph-traceai.otlp.jsonl"
AGENTS_NATIVE = DATA / "openai-agents/agents-native.jsonl"
AGENTS_OI = DATA / "openai-agents/agents-openinference.otlp.jsonl"
ANTHROPIC_NATIVE = DATA / "frameworks/anthropic-native.otlp.jsonl"
ANTHROPIC_OI = DATA / "frameworks/anthropic-openinference.otlp.jsonl"

_LOADED: dict = {}


def trace(path, name: str) -> Trajectory:
    """The named trace of a fixture file (root span name), as `orchtui eval` reads it."""
    if path not in _LOADED:
        store = SpanStore()
        load_paths([str(path)], store)
        _LOADED[path] = {analysis.name: analysis for analysis in Analyzer(store).all()}
    return Trajectory.from_trace(_LOADED[path][name])


def faith(answer, *contexts, user=None, **options):
    built = [c if isinstance(c, Context) else Context(c, f"s{i}", "tool_result", "lookup") for i, c in enumerate(contexts)]
    return evaluate("Faithfulness", Trajectory.from_parts(final_output=answer, user_input=user, contexts=built), **options)


# -- Faithfulness ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [LANGGRAPH_OI, LANGGRAPH_TRACEAI], ids=["openinference", "traceai"])
def test_the_grounded_langgraph_answer_is_supported(path):
    """Was 0.40 warn: "Escalated: compliance review filed for Acme." took its words from two tool results
    (lookup_policy: "…require compliance review", compliance_review: "review filed for Acme") and each alone
    covered 0.60 of it."""
    result = evaluate("Faithfulness", trace(path, "vendor_exception"))
    assert (result.score, result.label, result.findings) == (1.0, "pass", [])
    [claim] = result.details["claims"]
    assert claim["claim"] == "Escalated: compliance review filed for Acme." and claim["label"] == "supported"
    assert claim["coverage"] == 0.8  # "escalated" is the agent's own word; compliance, review, filed, acme are the tools'
    assert claim["contexts"] == ["compliance_review result"]  # its JSON (tool name included) covers all four


WEATHER = Context('{"city": "Tokyo", "condition": "rainy", "temp_c": 14}', "w1", "tool_result", "get_weather")
CLOCK = Context('{"city": "Tokyo", "local_time": "21:05", "timezone": "Asia/Tokyo"}', "c1", "tool_result", "get_time")


def test_a_claim_combining_two_tool_results_is_supported_by_both():
    """Was "contradicted" (0.0 fail): checked against one context at a time, the clock result covered most of the
    claim and lacked 14, so FutureAGI's numeric rule fired."""
    answer = "It is rainy and 14°C in Tokyo, and the local time is 21:05."
    result = faith(answer, WEATHER, CLOCK, user="What's the weather and the time in Tokyo?")
    assert (result.score, result.label, result.findings) == (1.0, "pass", [])
    assert result.details["claims"] == [{
        "claim": answer, "label": "supported", "coverage": 1.0, "context": "get_time result", "span_id": "c1",
        "contexts": ["get_time result", "get_weather result"], "reason": "coverage 1.00",
    }]
    assert result.explanation.splitlines()[0] == (
        "Faithfulness 1.00 — 1 claim; 1 supported by get_time result (span c1), get_weather result (span w1)."
    )


def test_a_wrong_number_in_a_combined_claim_is_blamed_on_the_result_it_contradicts():
    """A number no tool returned is still contradicted, by the context whose facts sit next to it in the claim
    (the weather result for the temperature), not by the one that happens to cover more of the claim."""
    result = faith("It is rainy and 20°C in Tokyo, and the local time is 21:05.", WEATHER, CLOCK)
    assert (result.score, result.label) == (0.0, "fail")
    [finding] = result.findings
    assert (finding.code, finding.severity, finding.span_id) == ("faithfulness.contradicted", "critical", "w1")
    assert finding.message.endswith("is contradicted by get_weather result (span w1): it has 14, not 20")
    wrong_time = faith("It is rainy and 14°C in Tokyo, and the local time is 22:05.", WEATHER, CLOCK)
    assert wrong_time.findings[0].message.endswith("is contradicted by get_time result (span c1): it has 21, 5, not 22")


@pytest.mark.parametrize(
    "answer, context, label",
    [
        ("The store opens on Sunday.", "The store doesn't open on Sundays.", "contradicted"),  # was supported-ish: 1 of 3 words
        ("The store doesn't open on Sundays.", "The store opens on Sunday.", "contradicted"),
        ("The store opened on Sunday.", "The store opens on Sundays.", "supported"),
        ("Shipping is free for orders above $50.", "Free shipping on all orders over 50 USD.", "supported"),
        ("The customer has waited 6 days.", '{"customer": "C-12", "waiting_days": 6}', "supported"),  # identifiers split at "_"
    ],
)
def test_word_forms_and_identifiers_compare_by_stem(answer, context, label):
    """Was missed: without stemming "opens" and "open" are different words, so the negation check never saw a
    claim that the context covers; `waiting_days` was one word no answer contains."""
    result = faith(answer, context)
    assert [c["label"] for c in result.details["claims"]] == [label]
    if label == "contradicted":
        assert "negation differs" in result.findings[0].message


def test_first_person_and_function_words_are_not_facts_to_check():
    """"I've issued a refund, so …": "I" and "so" are no tool's words; they no longer count against the claim."""
    result = faith("So I issued the refund for order 8812.", '{"order_id": "8812", "refund": "issued"}')
    assert result.details["claims"][0]["coverage"] == 1.0


# -- the demo -------------------------------------------------------------------------------------------------------

EXPECTED_DEMO = {
    # trace (in the demo's order): the evaluators that do not pass (label), all others pass or are n/a
    "refund_request #1 (policy search finds nothing, stronger model)": {},
    "refund_request #2 (policy found)": {},
    "triage_handoff": {},
    "order_status (timeout, then a retry)": {},
    "policy_research (a loop cut by the recursion limit)": {
        "TaskCompletion": "fail", "StepEfficiency": "warn", "LoopDetection": "fail", "StopReason": "fail", "TrajectoryScore": "fail",
    },
    "summarize_contract (truncated)": {"TaskCompletion": "fail", "StopReason": "fail", "TrajectoryScore": "fail"},
    "escalation_check (no stop reason recorded)": {"StopReason": "fail", "TrajectoryScore": "fail"},
    "refund_request #3 (policy lookup skipped, timeline invented)": {"Faithfulness": "warn"},
}


@pytest.fixture(scope="module")
def demo_eval(tmp_path_factory):
    """(exit status, [{"name", "evaluations": [result, ...]}] per trace in the order `orchtui eval` lists them)."""
    path = tmp_path_factory.mktemp("demo") / "demo.jsonl"
    write_demo_file(str(path))
    code, out, _ = run("eval", str(path), "--json")
    traces: dict[str, dict] = {}
    for result in json.loads(out)["results"]:
        traces.setdefault(result["trace_id"], {"name": result["trace"], "evaluations": []})["evaluations"].append(result)
    return code, {"traces": list(traces.values())}


def test_the_demo_passes_its_clean_runs_and_fails_exactly_the_broken_ones(demo_eval):
    """Was: exit 1 with every run warning on Faithfulness (answers adding details no tool returned, and claims
    spread over two tool results). Now every clean run passes every evaluator; the four broken runs fail, each on
    what broke it; exit status 1 because they do."""
    code, document = demo_eval
    assert code == 1
    assert [t["name"] for t in document["traces"]] == [
        "refund_request", "refund_request", "triage_handoff", "order_status", "policy_research", "summarize_contract",
        "escalation_check", "refund_request",
    ]
    got = [{r["evaluator"]: r["label"] for r in t["evaluations"] if r["label"] not in ("pass", "n/a")} for t in document["traces"]]
    assert got == list(EXPECTED_DEMO.values())


def test_the_demo_catches_the_invented_refund_timeline(demo_eval):
    """The run that skipped the policy lookup states the refund timeline anyway: the one invented detail."""
    _, document = demo_eval
    skipped = document["traces"][-1]
    [faithfulness] = [r for r in skipped["evaluations"] if r["evaluator"] == "Faithfulness"]
    assert faithfulness["score"] == 0.5
    [finding] = faithfulness["findings"]
    assert finding["code"] == "faithfulness.unsupported"
    assert finding["message"].startswith(
        'claim "Refunds for lost shipments arrive within 5 business days." is unsupported (number 5 appears in no tool output)'
    )
    found = document["traces"][1]  # the same sentence, grounded in the retrieved policy
    [grounded] = [r for r in found["evaluations"] if r["evaluator"] == "Faithfulness"]
    assert grounded["score"] == 1.0 and "retrieved document retrieve_policy" in grounded["explanation"]


# -- TaskCompletion -------------------------------------------------------------------------------------------------

def test_an_answer_the_producer_never_recorded_is_not_an_empty_answer():
    """Was 0.0 fail "the final answer is empty": the SDK's own export records usage, never messages."""
    native = evaluate("TaskCompletion", trace(AGENTS_NATIVE, "triage_handoff"))
    assert (native.score, native.passed, native.label, native.findings) == (None, None, "n/a", [])
    assert native.explanation == (
        "Task completion: n/a — the final answer was not recorded: the OpenAI Agents SDK export records no message "
        "content (no LLM call of the trace has one); whether the task was completed cannot be judged."
    )
    same_run = evaluate("TaskCompletion", trace(AGENTS_OI, "triage_handoff"))  # recorded by OpenInference
    assert (same_run.score, same_run.label) == (1.0, "pass")
    faithfulness = evaluate("Faithfulness", trace(AGENTS_NATIVE, "triage_handoff"))
    assert faithfulness.label == "n/a" and "the final answer was not recorded" in faithfulness.explanation


def test_an_answer_recorded_only_as_the_calls_raw_output_is_the_answer():
    """traceAI's LiteLLM and OpenAI instrumentors keep no output message for a streamed response, only the text as
    the span's output value: that text is the answer (was 0.0 fail "the final answer is empty"), and OpenInference's
    recording of the same run agrees."""
    streamed = evaluate("TaskCompletion", trace(DATA / "frameworks/litellm-traceai.otlp.jsonl", "streamed"))
    assert (streamed.score, streamed.label) == (1.0, "pass")
    assert "ended normally (finish_reason=none recorded, 62-char answer)" in streamed.explanation
    same_run = evaluate("TaskCompletion", trace(DATA / "frameworks/litellm-openinference.otlp.jsonl", "streamed"))
    assert (same_run.score, same_run.label) == (1.0, "pass")


def test_a_run_that_visibly_failed_still_fails_when_its_messages_are_unrecorded():
    result = evaluate("TaskCompletion", trace(AGENTS_NATIVE, "max_turns"))
    assert (result.score, result.label, [f.code for f in result.findings]) == (0.0, "fail", ["task.errored"])


def test_a_recorded_empty_answer_is_still_empty():
    trajectory = Trajectory.from_parts(llm_calls=[{"finish_reason": "stop", "output": ""}])
    result = evaluate("TaskCompletion", trajectory)
    assert (result.score, result.label, [f.code for f in result.findings]) == (0.0, "fail", ["task.empty_answer"])


# -- StepEfficiency -------------------------------------------------------------------------------------------------

def loop(repeats: int) -> Trajectory:
    return Trajectory.from_parts(tool_calls=[{"name": "lookup_policy", "args": {"query": "refund policy"}}] * repeats)


@pytest.mark.parametrize("repeats, score", [(4, 0.475), (5, 0.44), (3, 0.5333)])
def test_a_loop_of_identical_calls_does_not_pass(repeats, score):
    """Was a pass: 3 of 4 redundant scored 0.62, 4 of 5 scored 0.60 (length was left out, so the errors score
    carried half the weight). The run's distinct calls are now its optimum: length = 1 - redundant/n."""
    result = evaluate("StepEfficiency", loop(repeats))
    assert result.score == pytest.approx(score, abs=1e-4) and result.label == "warn"
    n, distinct = repeats, 1
    assert result.components == {"length": pytest.approx(distinct / n), "redundancy": pytest.approx(distinct / n), "errors": 1.0}
    assert f"{n} tool calls, 1 distinct (length {distinct / n:.2f}" in result.explanation


def test_the_real_langgraph_loop_does_not_pass():
    result = evaluate("StepEfficiency", trace(LANGGRAPH_OI, "policy_loop"))  # lookup_policy x4, identical
    assert (round(result.score, 4), result.label) == (0.475, "warn")


def test_a_run_without_steps_is_not_applicable():
    """Was 1.0: nothing done is not perfect efficiency."""
    result = evaluate("StepEfficiency", trace(LANGGRAPH_OI, "long_answer"))  # one LLM call, no tools
    assert (result.score, result.label) == (None, "n/a")
    assert result.explanation == "Step efficiency: n/a — the run made no tool calls: no steps to judge."
    budget = evaluate("StepEfficiency", Trajectory.from_parts(), reference={"max_steps": 4})
    assert budget.label == "n/a"
    expected_some = evaluate("StepEfficiency", Trajectory.from_parts(), reference={"optimal_steps": 2})
    assert expected_some.label == "n/a" and "(2 expected: see TrajectoryMatch / ToolSelectionAccuracy)" in expected_some.explanation
    expected_none = evaluate("StepEfficiency", Trajectory.from_parts(), reference={"optimal_steps": 0})
    assert (expected_none.score, expected_none.label) == (1.0, "pass")  # nothing was to be done, and nothing was


# -- TrajectoryScore ------------------------------------------------------------------------------------------------

def test_the_label_follows_the_failed_parts():
    """Was: the crashed run "warn" at 0.21 while the truncated one was "fail" at 0.43 (only the truncation had a
    critical finding the label rule could see; the crash's was TaskCompletion's)."""
    crashed = evaluate("TrajectoryScore", trace(LANGGRAPH_OI, "flaky_tool"))
    assert (round(crashed.score, 4), crashed.label) == (0.3, "fail")
    assert [f.code for f in crashed.findings] == ["task.errored"]
    assert crashed.explanation == (
        "Trajectory 0.30 = 0.4×TaskCompletion 0.00 + 0.3×StepEfficiency 0.70 (weights renormalised: "
        "ToolSelectionAccuracy not scored; critical in TaskCompletion: task.errored)."
    )
    truncated = evaluate("TrajectoryScore", trace(LANGGRAPH_OI, "long_answer"))
    assert (truncated.score, truncated.label) == (0.0, "fail")


def test_a_failed_part_caps_the_composite_even_when_the_average_is_high():
    """Task completion fails (the run crashed) while the other parts are perfect: 0.4×0 + 0.3×1 + 0.3×1 = 0.6 is
    below 0.7 anyway; with a failed tool selection the average would pass at 0.7 without the cap."""
    trajectory = Trajectory.from_parts(
        tool_calls=[{"name": "delete_db", "args": {}}],
        llm_calls=[{"finish_reason": "stop", "output": "Done."}],
        final_output="Done.",
    )
    reference = {"allowed_tools": ["search"], "denied_tools": ["delete_db"]}
    selection = evaluate("ToolSelectionAccuracy", trajectory, reference)
    assert (selection.score, selection.label) == (0.0, "fail")
    result = evaluate("TrajectoryScore", trajectory, reference)
    assert (result.score, result.label) == (0.49, "fail")
    assert "capped at 0.49 by ToolSelectionAccuracy" in result.explanation
    assert evaluate("TrajectoryScore", trajectory, reference, critical_cap=False).score == pytest.approx(0.7)


# -- StopReason -----------------------------------------------------------------------------------------------------

def test_the_same_run_gets_the_same_verdict_from_either_exporter():
    """OpenInference records every finish reason of the hand-off run; the SDK's own export records none (the two
    tool-calling turns are inferred from what ran after them, the final answer's reason is unknown)."""
    recorded = evaluate("StopReason", trace(AGENTS_OI, "triage_handoff"))
    native = evaluate("StopReason", trace(AGENTS_NATIVE, "triage_handoff"))
    assert (recorded.score, recorded.label) == (native.score, native.label) == (1.0, "pass")
    assert recorded.explanation == "Stop reason: OK — all 3 LLM calls stopped normally"
    assert native.explanation == (
        "Stop reason: OK — all 2 LLM calls with a finish reason stopped normally\n"
        "- 1 of 3 LLM calls (the final one) has no finish reason because the OpenAI Agents SDK export records none "
        "(and the run does not show one): not judged"
    )
    assert native.components == {"calls": 3.0, "judged": 2.0}


def test_a_run_whose_producer_records_no_reason_at_all_is_not_applicable():
    """Was a pass "all 1 LLM calls stopped normally", on nothing."""
    result = evaluate("StopReason", trace(AGENTS_NATIVE, "guardrail_trip"))
    assert (result.score, result.label) == (None, "n/a")
    assert result.explanation == (
        "Stop reason: n/a — the OpenAI Agents SDK export records no finish reasons, and none of the 1 LLM call(s) "
        "shows one in the run (no tool ran after it, no token limit reached)."
    )


def test_a_final_tool_call_is_not_dangling_when_the_producer_cannot_show_tools_running():
    """Anthropic's SDK spans (metadata only) record no tool spans and no messages: the loop's last tool ran (the
    recording's truth says so) and OpenInference shows it, but the native file cannot. Was 0.0 fail (dangling)
    from the native file and 1.0 pass from OpenInference."""
    native = evaluate("StopReason", trace(ANTHROPIC_NATIVE, "loop"))
    recorded = evaluate("StopReason", trace(ANTHROPIC_OI, "loop"))
    assert (native.score, native.label) == (recorded.score, recorded.label) == (1.0, "pass")
    assert [f.code for f in native.findings] == ["stop_reason.tools_unseen"] and native.findings[0].severity == "info"
    assert "whether they ran cannot be seen, so it is not judged dangling" in native.explanation
    truncated = evaluate("StopReason", trace(ANTHROPIC_NATIVE, "truncated"))  # what the producer does record still counts
    assert (truncated.score, truncated.label) == (0.0, "fail")


def test_the_readme_shows_the_demo_table_as_orchtui_eval_prints_it(tmp_path, monkeypatch):
    """The README's table is real output: the grid `orchtui eval` prints for the demo at 140 columns."""
    from tests.conftest import ROOT

    path = tmp_path / "demo.jsonl"
    write_demo_file(str(path))
    monkeypatch.setenv("COLUMNS", "140")
    _, out, _ = run("eval", str(path))
    printed = [line.rstrip() for line in out.splitlines() if line.startswith(("┏", "┃", "┡", "│", "└"))]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### What the evaluators decide, shown on the demo") :]
    shown = [line.rstrip() for line in section[: section.index("\n…\n")].splitlines() if line.startswith(("┏", "┃", "┡", "│", "└"))]
    assert len(shown) == 12 and shown == printed  # 3 header lines, 8 traces, the bottom rule
