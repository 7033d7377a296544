"""TrajectoryMatch (design/evaluators.md §8.3): the six modes, argument matchers, explanations, findings, and cases
transcribed from the anchors' own tests (agentevals, ragas, ADK, promptfoo, Vertex) as reference/evaluators.md lists
them. Every call goes through `evaluate` so option validation is exercised too."""

from __future__ import annotations

import json

import pytest

from orchtui.analysis import Analyzer
from orchtui.evals import Trajectory, evaluate
from orchtui.loading import load_paths
from orchtui.store import SpanStore
from parsers.span import RETRIEVER
from tests.conftest import DATA
from tests.spans import analyse, root, span
from tests.spans import tool as tool_span

MODES = ("strict", "unordered", "subset", "superset", "in_order", "exact")
AGENTEVALS_MODES = ("unordered", "superset", "subset", "strict")


def calls(*specs) -> Trajectory:
    """calls(("search", {"q": "a"}), "read") — a name alone means no arguments recorded."""
    parts = [{"name": s} if isinstance(s, str) else {"name": s[0], "args": s[1], **(s[2] if len(s) > 2 else {})} for s in specs]
    return Trajectory.from_parts(tool_calls=parts)


def expected(*specs) -> dict:
    return {"expected_tool_calls": [{"name": s} if isinstance(s, str) else {"name": s[0], "args": s[1]} for s in specs]}


def match(trajectory: Trajectory, reference, **options):
    return evaluate("TrajectoryMatch", trajectory, reference, **options)


# -- OpenAI chat messages, as the agentevals tests write them ------------------------------------------------------

def user(text="question"):
    return {"role": "user", "content": text}


def assistant(*tool_calls, content=""):
    message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {"type": "function", "id": call_id, "function": {"name": name, "arguments": json.dumps(args)}}
            for name, args, *rest in tool_calls
            for call_id in [rest[0] if rest else ""]
        ]
    return message


def tool(content="result", call_id=None):
    return {"role": "tool", "content": content, "tool_call_id": call_id}


def by_messages(outputs, reference_outputs, **options):
    return match(Trajectory.from_messages(outputs), {"expected_messages": reference_outputs}, **options)


# -- agentevals python/tests/test_trajectory.py (@946ad15) ---------------------------------------------------------

@pytest.mark.parametrize("mode", AGENTEVALS_MODES)
def test_agentevals_test_trajectory_match(mode):
    """agentevals test_trajectory.py::test_trajectory_match — identical calls, different contents: all modes pass."""
    outputs = [user(), assistant(("get_weather", {"city": "San Francisco"})), tool("80 in SF"), assistant(content="80 and sunny")]
    reference = [user(), assistant(("get_weather", {"city": "San Francisco"})), tool("80 in San Francisco"), assistant(content="80˚")]
    assert by_messages(outputs, reference, mode=mode).score == 1.0


@pytest.mark.parametrize("mode", AGENTEVALS_MODES)
def test_agentevals_test_trajectory_with_different_tool_message_order(mode):
    """agentevals test_trajectory.py::test_trajectory_with_different_tool_message_order — calls inside one message
    are unordered, even in strict mode."""
    outputs = [user(), assistant(("get_weather", {"city": "SF"}), ("get_weather", {"city": "London"})), tool(), tool(), assistant(content="a")]
    reference = [user(), assistant(("get_weather", {"city": "London"}), ("get_weather", {"city": "SF"})), tool(), tool(), assistant(content="b")]
    assert by_messages(outputs, reference, mode=mode).score == 1.0


@pytest.mark.parametrize("mode, score", [("unordered", 1.0), ("superset", 1.0), ("subset", 1.0), ("strict", 0.0)])
def test_agentevals_test_trajectory_with_different_message_count(mode, score):
    """agentevals test_trajectory.py::test_trajectory_with_different_message_count — the same calls split over two
    assistant messages: only strict sees the difference."""
    outputs = [
        user(), assistant(("get_weather", {"city": "SF"})), tool(),
        assistant(("get_weather", {"city": "London"})), tool(), assistant(content="done"),
    ]
    reference = [user(), assistant(("get_weather", {"city": "London"}), ("get_weather", {"city": "SF"})), tool(), tool(), assistant(content="x")]
    result = by_messages(outputs, reference, mode=mode)
    assert result.score == score
    if mode == "strict":  # every call has a partner: the failure is the message layout, a warning
        assert result.label == "warn"
        assert [f.code for f in result.findings] == ["trajectory.order"]
        assert "6 messages vs 5 expected" in result.explanation and "message 2 is assistant[" in result.explanation


@pytest.mark.parametrize("mode, score", [("unordered", 0.0), ("superset", 0.0), ("subset", 1.0), ("strict", 0.0)])
def test_agentevals_test_trajectory_subset_tool_call(mode, score):
    """agentevals test_trajectory.py::test_trajectory_subset_tool_call"""
    outputs = [user(), assistant(("get_weather", {"city": "SF"})), tool(), assistant(content="9000 degrees in London")]
    reference = [user(), assistant(("get_weather", {"city": "London"}), ("get_weather", {"city": "SF"})), tool(), tool(), assistant(content="x")]
    assert by_messages(outputs, reference, mode=mode).score == score


@pytest.mark.parametrize("mode", AGENTEVALS_MODES)
def test_agentevals_test_exact_matcher_with_different_called_tools(mode):
    """agentevals test_trajectory.py::test_exact_matcher_with_different_called_tools"""
    outputs = [user(), assistant(("get_weather", {"city": "SF"})), tool(), assistant(content="a")]
    reference = [user(), assistant(("accuweather_forecast", {"city": "San Francisco"})), tool(), assistant(content="b")]
    result = by_messages(outputs, reference, mode=mode)
    assert result.score == 0.0 and result.label == "fail"


@pytest.mark.parametrize("mode, score", [("unordered", 0.0), ("superset", 1.0), ("subset", 0.0), ("strict", 0.0)])
def test_agentevals_test_trajectory_with_extra_tool_calls_and_override(mode, score):
    """agentevals test_trajectory.py::test_trajectory_with_extra_tool_calls_and_override (get_weather: ignore)"""
    outputs = [user(), assistant(("get_weather", {"city": "San Francisco"}), ("get_weather", {"city": "London"})), tool(), tool(), assistant(content="a")]
    reference = [user(), assistant(("get_weather", {"city": "SF and London"})), tool(), assistant(content="b")]
    assert by_messages(outputs, reference, mode=mode, tool_args_match_overrides={"get_weather": "ignore"}).score == score


@pytest.mark.parametrize("mode, score", [("unordered", 0.0), ("superset", 0.0), ("subset", 1.0), ("strict", 0.0)])
def test_agentevals_test_trajectory_with_subset_tool_calls_and_override(mode, score):
    """agentevals test_trajectory.py::test_trajectory_with_subset_tool_calls_and_override (get_weather: ignore)"""
    outputs = [user(), assistant(("get_weather", {"city": "SF and London"})), tool(), assistant(content="a")]
    reference = [user(), assistant(("get_weather", {"city": "San Francisco"}), ("get_weather", {"city": "London"})), tool(), tool(), assistant(content="b")]
    assert by_messages(outputs, reference, mode=mode, tool_args_match_overrides={"get_weather": "ignore"}).score == score


LANGCHAIN_OUTPUTS = [
    {"type": "human", "content": "What is the weather in SF?"},
    {"type": "ai", "content": "", "tool_calls": [{"id": "1234", "name": "get_weather", "args": {"city": "SF"}}]},
    {"type": "tool", "tool_call_id": "1234", "content": "It's 80 degrees and sunny in SF."},
    {"type": "ai", "content": "The weather in SF is 80 degrees and sunny."},
]


def langchain_reference(name: str) -> list[dict]:
    return [
        {"type": "human", "content": "What is the weather in SF?"},
        {"type": "ai", "content": "Let me check that for you!", "tool_calls": [{"id": "4321", "name": name, "args": {"city": "San Francisco"}}]},
        {"type": "tool", "tool_call_id": "4321", "content": "It's 80 degrees and sunny in San Francisco."},
        {"type": "ai", "content": "The weather in SF is 80˚ and sunny."},
    ]


@pytest.mark.parametrize("mode", AGENTEVALS_MODES)
def test_agentevals_test_trajectory_match_with_langchain_messages_and_override(mode):
    """agentevals test_trajectory.py::test_trajectory_match_with_langchain_messages_and_override (callable)"""
    def sf(actual, expected):
        return actual["city"] in ("SF", "San Francisco") and expected["city"] in ("SF", "San Francisco")

    result = by_messages(LANGCHAIN_OUTPUTS, langchain_reference("get_weather"), mode=mode, tool_args_match_overrides={"get_weather": sf})
    assert result.score == 1.0


@pytest.mark.parametrize("mode", AGENTEVALS_MODES)
def test_agentevals_test_trajectory_match_with_langchain_messages_failure(mode):
    """agentevals test_trajectory.py::test_trajectory_match_with_langchain_messages_failure"""
    assert by_messages(LANGCHAIN_OUTPUTS, langchain_reference("accuweather_forecast"), mode=mode).score == 0.0


def flight_messages(lookups: list[dict], fetch_args: dict, search: bool = False) -> list[dict]:
    """The airline conversation of the agentevals override tests: fetch the booking, (search flights,) then one
    assistant message with parallel lookup_policy calls."""
    messages = [
        user("Hi there, what time is my flight?"),
        assistant(("fetch_user_flight_information", fetch_args, "d3b6")),
        tool("[...]", "d3b6"),
        assistant(content="Your flight LX0112 from CDG to BSL is scheduled to depart in an hour."),
        user("Update it to the next flight after that and bump me to first class if there is availability."),
    ]
    if search:
        messages += [assistant(("search_flights", {"departure_airport": "CDG", "arrival_airport": "BSL"}, "f6ff")), tool("[...]", "f6ff")]
    ids = [f"id{i}" for i in range(len(lookups))]
    messages.append(assistant(*[("lookup_policy", args, call_id) for args, call_id in zip(lookups, ids)]))
    messages += [tool("Upgrades are saved for VIPs.", call_id) for call_id in ids]
    messages.append(assistant(content="We do not currently allow upgrades to first class."))
    return messages


@pytest.mark.parametrize("mode, score", [("unordered", 0.0), ("superset", 1.0), ("subset", 0.0), ("strict", 0.0)])
def test_agentevals_test_trajectory_match_with_overrides(mode, score):
    """agentevals test_trajectory.py::test_trajectory_match_with_overrides — a custom lookup_policy matcher; the
    outcome is the same although we call it (actual, expected) in subset mode too."""
    outputs = flight_messages([{"query": "flight upgrades"}, {"query": "first class"}], {}, search=True)
    reference = flight_messages([{"query": "upgrade to first class"}, {"query": "foo"}], {})
    assert by_messages(outputs, reference, mode=mode).score == 0.0

    def lookup_policy_query_matcher(tool_args, reference_tool_args):
        if reference_tool_args.get("query", {}) and "upgrade" in reference_tool_args.get("query", {}):
            return "upgrade" in tool_args.get("query", {})
        return True

    result = by_messages(outputs, reference, mode=mode, tool_args_match_overrides={"lookup_policy": lookup_policy_query_matcher})
    assert result.score == score


@pytest.mark.parametrize("mode", AGENTEVALS_MODES)
def test_agentevals_test_trajectory_match_with_nested_field_overrides(mode):
    """agentevals test_trajectory.py::test_trajectory_match_with_nested_field_overrides — key path "time.start"."""
    window = {"start": "2025-03-22T18:34:40Z", "end": "2025-03-22T20:34:40Z"}
    outputs = flight_messages([{"query": "flight upgrades", "time": window}, {"query": "first class", "time": window}], {"user_id": "123"})
    reference_window = {"start": "2025-03-22T18:34:40Z", "end": "baz"}
    reference = flight_messages([{"query": "foo", "time": reference_window}, {"query": "bar", "time": reference_window}], {"user_id": "123"})
    assert by_messages(outputs, reference, mode=mode).score == 0.0
    assert by_messages(outputs, reference, mode=mode, tool_args_match_overrides={"lookup_policy": ["time.start"]}).score == 1.0


def flight_info(args: dict) -> list[dict]:
    return [user("Hi there, what time is my flight?"), assistant(("get_flight_info", args)), assistant(content="Your flight is at 10:00 AM.")]


@pytest.mark.parametrize("args_mode, score", [("exact", 0.0), ("ignore", 1.0), ("subset", 0.0), ("superset", 1.0)])
def test_agentevals_test_tool_args_match_mode_superset(args_mode, score):
    """agentevals test_trajectory.py::test_tool_args_match_mode_superset (strict mode, the default)"""
    result = by_messages(flight_info({"is_cool": True, "flight_no": "LX0112"}), flight_info({"flight_no": "LX0112"}), tool_args_match_mode=args_mode)
    assert result.score == score


@pytest.mark.parametrize("args_mode, score", [("exact", 0.0), ("ignore", 1.0), ("subset", 1.0), ("superset", 0.0)])
def test_agentevals_test_tool_args_match_mode_subset(args_mode, score):
    """agentevals test_trajectory.py::test_tool_args_match_mode_subset"""
    result = by_messages(flight_info({"flight_no": "LX0112"}), flight_info({"flight_no": "LX0112", "foo": "bar"}), tool_args_match_mode=args_mode)
    assert result.score == score


@pytest.mark.parametrize("args_mode", ["exact", "ignore", "subset", "superset"])
def test_agentevals_test_tool_args_match_mode_exact(args_mode):
    """agentevals test_trajectory.py::test_tool_args_match_mode_exact"""
    assert by_messages(flight_info({"flight_no": "LX0112"}), flight_info({"flight_no": "LX0112"}), tool_args_match_mode=args_mode).score == 1.0


@pytest.mark.parametrize("args_mode, score", [("exact", 0.0), ("ignore", 1.0)])
def test_agentevals_js_trajectory_match_strict_params(args_mode, score):
    """agentevals js/src/trajectory/tests/trajectory.test.ts "trajectory match strict params" """
    outputs = [user(), assistant(("get_weather", {"city": "SF"}, "1234")), tool("80", "1234"), assistant(content="80")]
    reference = [user(), assistant(("get_weather", {"city": "San Francisco"}, "1234")), tool("80", "1234"), assistant(content="80")]
    assert by_messages(outputs, reference, mode="strict", tool_args_match_mode=args_mode).score == score


# -- ragas tests/unit/test_tool_call_accuracy.py: strict_order=True ~ exact, strict_order=False ~ unordered ----------

def test_ragas_tool_call_accuracy_perfect_match_and_multiple_ai_messages():
    """ragas test_tool_call_accuracy.py::test_perfect_match_scenario and ::test_multiple_ai_messages (calls spread
    over two AI messages are flattened)."""
    reference = expected(("search", {"query": "python"}), ("filter", {"type": "recent"}))
    assert match(calls(("search", {"query": "python"}), ("filter", {"type": "recent"})), reference, mode="exact").score == 1.0
    spread = Trajectory.from_messages([assistant(("search", {"query": "python"})), assistant(("filter", {"type": "recent"}))])
    assert match(spread, reference, mode="exact").score == 1.0


def test_ragas_tool_call_accuracy_sequence_misalignment():
    """ragas test_tool_call_accuracy.py::test_sequence_misalignment (0 in strict order) and
    ::test_flexible_order_sorting_behavior (aligned when strict_order=False)."""
    actual = calls(("filter", {"type": "recent"}), ("search", {"query": "python"}))
    reference = expected(("search", {"query": "python"}), ("filter", {"type": "recent"}))
    result = match(actual, reference, mode="exact")
    assert result.score == 0.0 and result.label == "warn"
    assert [f.code for f in result.findings] == ["trajectory.order"]
    assert "call 1 is filter" in result.explanation
    assert result.components == {"precision": 1.0, "recall": 1.0}  # order-free, reported on failure
    assert match(actual, reference, mode="unordered").score == 1.0


@pytest.mark.parametrize("actual", [
    [("search", {"query": "python"}), ("filter", {"type": "recent"})],  # ::test_length_mismatch_more_predicted
    [("wrong_tool", {"query": "python"})],  # ::test_wrong_tool_names
    [],  # ::test_no_predicted_tool_calls
])
def test_ragas_tool_call_accuracy_mismatches_score_zero(actual):
    """ragas test_tool_call_accuracy.py::test_length_mismatch_more_predicted, ::test_wrong_tool_names,
    ::test_no_predicted_tool_calls"""
    assert match(calls(*actual), expected(("search", {"query": "python"})), mode="exact").score == 0.0


def test_ragas_tool_call_accuracy_length_mismatch_fewer_predicted():
    """ragas test_tool_call_accuracy.py::test_length_mismatch_fewer_predicted"""
    result = match(calls(("search", {"query": "python"})), expected(("search", {"query": "python"}), ("filter", {"type": "recent"})), mode="exact")
    assert result.score == 0.0
    assert result.explanation.startswith('Trajectory (exact, args=exact): FAIL — 1 calls vs 2 expected; expected filter{"type":"recent"} has no matching call (filter was never called)')


def test_ragas_tool_call_accuracy_empty_reference():
    """ragas test_tool_call_accuracy.py::test_empty_reference_tool_calls (1.0) and
    ::test_empty_reference_with_predictions (0.0)"""
    assert match(calls(), expected(), mode="exact").score == 1.0
    result = match(calls(("unexpected", {})), expected(), mode="exact")
    assert result.score == 0.0 and [f.code for f in result.findings] == ["trajectory.unexpected_call"]


# -- Google ADK tests/unittests/evaluation/test_trajectory_evaluator.py -----------------------------------------------
# EXACT = exact, IN_ORDER = in_order, ANY_ORDER = superset; ignore_args = tool_args_match_mode "ignore".

def adk(*names):
    return [(n, {}) for n in names]


@pytest.mark.parametrize("actual, reference, score", [
    ([("test_func", {"arg1": "val1"})], [("test_func", {"arg1": "val1"})], 1.0),  # ::test_evaluate_invocations_equal_tool_calls
    ([("test_func1", {"arg1": "val1"})], [("test_func2", {"arg1": "val1"})], 0.0),  # ::..._different_tool_call_names
    ([("test_func", {"arg1": "val1"})], [("test_func", {"arg1": "val2"})], 0.0),  # ::..._different_tool_call_args
    ([("test_func", {"arg1": "val1"})], [("test_func", {"arg1": "val1"})] * 2, 0.0),  # ::..._different_number_of_tool_calls
    ([], [], 1.0),  # ::test_evaluate_invocations_no_tool_calls
    ([("t1", {"a": 1})], [("t1", {"a": 2})], 0.0),  # ::test_ignore_args_false_still_checks_args
])
def test_adk_exact(actual, reference, score):
    """ADK test_trajectory_evaluator.py EXACT cases (named per row)."""
    assert match(calls(*actual), expected(*reference), mode="exact").score == score


@pytest.mark.parametrize("actual, reference, score", [
    (adk("t1", "t1_1", "t2", "t2_1", "t3", "t3_1"), adk("t1", "t2", "t3"), 1.0),  # ::..._in_order_match_with_extra_tool_calls
    (adk("t1", "t1_1", "t2", "t2_1", "t3_1"), adk("t1", "t2", "t4"), 0.0),  # ::..._in_order_match_fails_with_missing_tool_call
    (adk("t1", "t3", "t2"), adk("t1", "t2", "t3"), 0.0),  # ::..._in_order_match_fails_with_wrong_order
])
def test_adk_in_order(actual, reference, score):
    """ADK test_trajectory_evaluator.py IN_ORDER cases (named per row)."""
    assert match(calls(*actual), expected(*reference), mode="in_order").score == score


@pytest.mark.parametrize("actual, reference, score", [
    (adk("t2", "t2_1", "t1", "t1_1", "t3", "t3_1"), adk("t1", "t2", "t3"), 1.0),  # ::..._any_order_match_with_extra_tool_calls_different_order
    (adk("t1", "t1_1", "t2", "t2_1", "t3_1"), adk("t1", "t2", "t4"), 0.0),  # ::..._any_order_match_fails_with_missing_tool_call
    (adk("t1", "t2", "t3", "t1"), adk("t1", "t2", "t1"), 1.0),  # ::..._any_order_match_with_duplicates
    (adk("t1", "t2", "t3"), adk("t1", "t2", "t1"), 0.0),  # ::..._any_order_match_fails_with_duplicates_missing
    (adk("test_func1", "test_func2"), adk("test_func2", "test_func1"), 1.0),  # ::test_trajectory_evaluator_accepts_string_match_type_from_eval_metric_dict
])
def test_adk_any_order_is_superset(actual, reference, score):
    """ADK test_trajectory_evaluator.py ANY_ORDER cases (named per row)."""
    assert match(calls(*actual), expected(*reference), mode="superset").score == score


def test_adk_any_order_duplicates_missing_explains_the_used_partner():
    """ADK ::test_evaluate_invocations_any_order_match_fails_with_duplicates_missing — the second t1 has a same-name
    call, but that call is already taken."""
    result = match(calls(*adk("t1", "t2", "t3")), expected(*adk("t1", "t2", "t1")), mode="superset")
    assert "expected t1{} has no matching call; nearest: t1{} (already matched to another expected call)" in result.explanation


@pytest.mark.parametrize("mode, actual, reference, score", [
    ("exact", [("t1", {"a": 1}), ("t2", {"b": 2})], [("t1", {"x": 99}), ("t2", {"y": 100})], 1.0),  # exact_different_args_pass
    ("exact", [("t1", {})], [("t2", {})], 0.0),  # exact_different_names_fail
    ("exact", [("t1", {}), ("t2", {})], [("t1", {})], 0.0),  # exact_different_count_fail
    ("exact", [], [], 1.0),  # exact_empty_lists_pass
    ("in_order", [("t1", {"a": 1}), ("extra", {}), ("t2", {"b": 2})], [("t1", {"x": 99}), ("t2", {"y": 100})], 1.0),  # in_order_different_args_pass
    ("in_order", [("t2", {}), ("t1", {})], [("t1", {}), ("t2", {})], 0.0),  # in_order_wrong_order_fail
    ("in_order", [("t1", {})], [("t1", {}), ("t2", {})], 0.0),  # in_order_missing_tool_fail
    ("superset", [("t2", {"b": 2}), ("t1", {"a": 1})], [("t1", {"x": 99}), ("t2", {"y": 100})], 1.0),  # any_order_different_args_pass
    ("superset", [("t1", {})], [("t1", {}), ("t2", {})], 0.0),  # any_order_missing_tool_fail
])
def test_adk_test_ignore_args(mode, actual, reference, score):
    """ADK test_trajectory_evaluator.py::test_ignore_args (ids in the row comments)."""
    assert match(calls(*actual), expected(*reference), mode=mode, tool_args_match_mode="ignore").score == score


# -- promptfoo test/assertions/trajectory.test.ts -------------------------------------------------------------------

PROMPTFOO_TOOLS = calls(
    ("search_orders", {"order_id": "123", "include_history": False}),
    ("search_inventory", {"query": "quantum computing", "limit": 3}),
    ("compose_reply", {"tone": "friendly", "citations": ["doc_1", "doc_2"]}),
)


def test_promptfoo_tool_sequence_in_order_and_exact():
    """promptfoo trajectory.test.ts trajectory:tool-sequence — 'passes when tools are observed in order',
    'fails exact mode when there are additional tools', 'passes exact mode when the sequence exactly matches'."""
    names = ["search_orders", "compose_reply"]
    assert match(PROMPTFOO_TOOLS, expected(*names), mode="in_order").score == 1.0
    extra = match(PROMPTFOO_TOOLS, expected(*names), mode="exact")
    assert extra.score == 0.0
    assert "3 calls vs 2 expected" in extra.explanation and "search_inventory" in extra.explanation
    assert match(calls(*names), expected(*names), mode="exact").score == 1.0


def test_promptfoo_tool_sequence_not_observed_in_order():
    """promptfoo trajectory.test.ts 'fails when an in-order sequence is not observed' — promptfoo names
    search_orders ('was not observed in order'); so do we, as an order warning."""
    result = match(PROMPTFOO_TOOLS, expected("compose_reply", "search_orders"), mode="in_order")
    assert result.score == 0.0 and result.label == "warn"
    (finding,) = result.findings
    assert finding.code == "trajectory.order" and finding.severity == "warn"
    assert "expected search_orders after compose_reply" in finding.message
    assert finding.span_id == PROMPTFOO_TOOLS.tool_calls[0].span_id


def test_promptfoo_tool_args_match_partial_and_exact():
    """promptfoo trajectory.test.ts trajectory:tool-args-match — 'passes when a tool call contains the expected
    argument subset', 'supports partial array matching', 'supports exact mode' (partial = args mode superset)."""
    assert match(PROMPTFOO_TOOLS, expected(("search_orders", {"order_id": "123"})), mode="superset", tool_args_match_mode="superset").score == 1.0
    assert match(PROMPTFOO_TOOLS, expected(("compose_reply", {"citations": ["doc_1", "doc_2"]})), mode="superset", tool_args_match_mode="superset").score == 1.0
    exact = expected(("compose_reply", {"tone": "friendly", "citations": ["doc_1", "doc_2"]}))
    assert match(PROMPTFOO_TOOLS, exact, mode="superset").score == 1.0
    assert match(PROMPTFOO_TOOLS, expected(("search_orders", {"order_id": "123"})), mode="superset").score == 0.0


def test_vertex_trajectory_precision_and_recall():
    """Vertex AI trajectory_precision / trajectory_recall (API spec): share of predicted calls in the reference and
    of reference calls in the prediction, reported whatever the mode's verdict."""
    result = match(calls("a", "b", "x"), expected("a", "b", "c", "d"), mode="exact")
    assert result.score == 0.0
    assert result.components["precision"] == pytest.approx(2 / 3)
    assert result.components["recall"] == pytest.approx(0.5)


# -- spec edge cases ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_both_sides_empty_is_a_match_in_every_mode(mode):
    result = match(calls(), expected(), mode=mode)
    assert (result.score, result.label, result.components) == (1.0, "pass", {"precision": 1.0, "recall": 1.0})
    assert "no calls, none expected" in result.explanation


def test_both_empty_message_trajectories_match_strictly():
    trajectory = Trajectory.from_messages([user(), assistant(content="hello")])
    assert by_messages([user(), assistant(content="hello")], [user(), assistant(content="hi")]).score == 1.0
    assert match(trajectory, {"expected_messages": [user(), assistant(content="x")]}, mode="unordered").score == 1.0


@pytest.mark.parametrize("mode, score", [
    ("strict", 0.0), ("unordered", 0.0), ("subset", 1.0), ("superset", 0.0), ("in_order", 0.0), ("exact", 0.0),
])
def test_empty_actual_against_expected_calls(mode, score):
    result = match(calls(), expected("a"), mode=mode)
    assert result.score == score
    assert result.components == {"precision": None, "recall": 0.0}


@pytest.mark.parametrize("mode, score", [
    ("strict", 0.0), ("unordered", 0.0), ("subset", 0.0), ("superset", 1.0), ("in_order", 1.0), ("exact", 0.0),
])
def test_calls_when_none_expected(mode, score):
    result = match(calls("a"), expected(), mode=mode)
    assert result.score == score
    assert result.components == {"precision": 0.0, "recall": None}


def test_missing_reference_is_not_applicable():
    result = match(calls("a"), None)
    assert (result.score, result.passed, result.label) == (None, None, "n/a")
    assert "no expected_tool_calls or expected_messages" in result.explanation
    assert result.components == {"precision": None, "recall": None}
    assert match(calls("a"), {"required_tools": ["a"]}).label == "n/a"


def test_configuration_errors_are_raised():
    with pytest.raises(ValueError, match="unknown TrajectoryMatch mode 'fuzzy'"):
        match(calls(), expected(), mode="fuzzy")
    with pytest.raises(ValueError, match="unknown tool_args_match_mode 'loose'"):
        match(calls(), expected(), tool_args_match_mode="loose")
    with pytest.raises(ValueError, match="unknown tool_args_match_mode 'nope'"):
        match(calls(), expected(), tool_args_match_overrides={"a": "nope"})
    with pytest.raises(ValueError, match="TrajectoryMatch has no option.*match_args"):
        match(calls(), expected(), match_args=True)


def test_the_spec_explanation_names_the_nearest_call():
    """§8.3's example explanation, character for character, with the finding on the nearest call's span."""
    trajectory = calls(("lookup_policy", {"query": "flight upgrades"}, {"span_id": "s1"}))
    result = match(trajectory, expected(("lookup_policy", {"query": "upgrade to first class"})), mode="superset")
    assert result.explanation == (
        'Trajectory (superset, args=exact): FAIL — expected lookup_policy{"query":"upgrade to first class"} has no '
        'matching call; nearest: lookup_policy{"query":"flight upgrades"} (args differ at "query").'
    )
    (finding,) = result.findings
    assert (finding.code, finding.severity, finding.span_id) == ("trajectory.missing_call", "critical", "s1")
    assert result.label == "fail"


def test_nearest_call_prefers_fewest_differences_and_names_nested_paths():
    trajectory = calls(
        ("book", {"flight": "LX1", "seat": {"row": 1, "col": "A"}, "class": "eco"}),
        ("book", {"flight": "LX2", "seat": {"row": 2, "col": "A"}, "class": "first"}),
    )
    result = match(trajectory, expected(("book", {"flight": "LX2", "seat": {"row": 2, "col": "B"}, "class": "first"})), mode="superset")
    assert 'nearest: book{"class":"first","flight":"LX2","seat":{"col":"A","row":2}} (args differ at "seat.col")' in result.explanation


def test_unexpected_call_explanation_and_span_in_subset_mode():
    trajectory = calls(("search", {"q": "a"}, {"span_id": "s1"}), ("delete_db", {}, {"span_id": "s2"}))
    result = match(trajectory, expected(("search", {"q": "a"})), mode="subset")
    assert result.explanation == "Trajectory (subset, args=exact): FAIL — delete_db{} matches no expected call (no delete_db expected)."
    (finding,) = result.findings
    assert (finding.code, finding.severity, finding.span_id) == ("trajectory.unexpected_call", "critical", "s2")


def test_extra_calls_are_not_findings_where_the_mode_allows_them():
    result = match(calls("a", "extra", "b"), expected("a", "b"), mode="in_order")
    assert result.score == 1.0 and result.findings == []
    assert result.explanation == "Trajectory (in_order, args=exact): PASS — the 2 expected calls appear in order among 3 calls."


def test_in_order_uses_the_earliest_match_so_later_steps_still_fit():
    trajectory = calls("a", "b", "a", "c")
    assert match(trajectory, expected("a", "c"), mode="in_order").score == 1.0
    assert match(trajectory, expected("b", "a", "c"), mode="in_order").score == 1.0
    assert match(trajectory, expected("a", "a", "c"), mode="in_order").score == 1.0
    assert match(trajectory, expected("c", "b"), mode="in_order").score == 0.0


def test_expected_call_without_args_matches_on_name_only():
    trajectory = calls(("search", {"q": "anything"}))
    assert match(trajectory, expected("search"), mode="exact").score == 1.0
    assert match(trajectory, {"expected_tool_calls": [{"name": "search", "args": {}}]}, mode="exact").score == 0.0


# -- argument matchers ----------------------------------------------------------------------------------------------

def test_bool_never_equals_a_number_but_int_equals_float():
    assert match(calls(("f", {"flag": True})), expected(("f", {"flag": 1})), mode="exact").score == 0.0
    assert match(calls(("f", {"flag": 1})), expected(("f", {"flag": True})), mode="exact").score == 0.0
    assert match(calls(("f", {"n": 1})), expected(("f", {"n": 1.0})), mode="exact").score == 1.0
    assert match(calls(("f", {"flag": True, "x": 1})), expected(("f", {"flag": 1})), mode="exact", tool_args_match_mode="superset").score == 0.0


def test_object_key_order_is_irrelevant_array_order_is_not():
    assert match(calls(("f", {"a": 1, "b": 2})), expected(("f", '{"b": 2, "a": 1}')), mode="exact").score == 1.0
    assert match(calls(("f", {"ids": [1, 2]})), expected(("f", {"ids": [2, 1]})), mode="exact").score == 0.0


@pytest.mark.parametrize("args_mode, score", [("exact", 1.0), ("ignore", 1.0), ("subset", 0.0), ("superset", 0.0), (["q"], 0.0)])
def test_unparseable_arguments_compare_as_raw_strings_only_under_exact(args_mode, score):
    trajectory = calls(("search", '{"q": "paris"'))  # truncated JSON stays a raw string
    reference = {"expected_tool_calls": [{"name": "search", "args": '{"q": "paris"'}]}
    assert match(trajectory, reference, mode="exact", tool_args_match_mode=args_mode).score == score


def test_unparseable_arguments_never_equal_parsed_ones():
    assert match(calls(("search", '{"q": "paris"')), expected(("search", {"q": "paris"})), mode="exact").score == 0.0


def test_key_path_overrides_compare_only_those_paths_missing_is_null():
    trajectory = calls(("lookup", {"query": "a", "time": {"start": "9"}}), ("other", {"x": 1}))
    overrides = {"lookup": ["time.start", "time.zone"]}
    reference = expected(("lookup", {"query": "b", "time": {"start": "9"}}), ("other", {"x": 1}))
    assert match(trajectory, reference, mode="exact", tool_args_match_overrides=overrides).score == 1.0
    changed = expected(("lookup", {"query": "a", "time": {"start": "10"}}), ("other", {"x": 1}))
    result = match(trajectory, changed, mode="exact", tool_args_match_overrides=overrides)
    assert result.score == 0.0 and 'args differ at "time.start"' in result.explanation
    # the override is per tool: "other" still uses the global exact mode
    assert match(trajectory, expected(("lookup", {"time": {"start": "9"}}), ("other", {"x": 2})), mode="exact", tool_args_match_overrides=overrides).score == 0.0
    assert "lookup=[time.start, time.zone]" in result.explanation


@pytest.mark.parametrize("mode", MODES)
def test_callables_and_subset_superset_are_always_called_actual_first(mode):
    """Fixes the agentevals subset-mode flip: in every trajectory mode the matcher sees (actual, expected)."""
    seen = []

    def spy(actual, expected_args):
        seen.append((actual, expected_args))
        return True

    match(calls(("f", {"side": "actual"})), expected(("f", {"side": "expected"})), mode=mode, tool_args_match_overrides={"f": spy})
    assert seen and all(a == {"side": "actual"} and e == {"side": "expected"} for a, e in seen)
    # args mode subset: actual ⊆ expected, also in trajectory mode subset (agentevals would test expected ⊆ actual)
    small, large = ("f", {"a": 1}), ("f", {"a": 1, "b": 2})
    assert match(calls(small), expected(large), mode=mode, tool_args_match_mode="subset").score == 1.0
    assert match(calls(large), expected(small), mode=mode, tool_args_match_mode="subset").score == 0.0
    assert match(calls(large), expected(small), mode=mode, tool_args_match_mode="superset").score == 1.0


XY, X = {"x": 1, "y": 2}, {"x": 1}


@pytest.mark.parametrize("mode, args_mode, actual, reference", [
    ("superset", "superset", [XY, X], [X, XY]),
    ("unordered", "superset", [XY, X], [X, XY]),
    ("strict", "superset", [XY, X], [X, XY]),  # inside one message
    ("subset", "subset", [X, XY], [XY, X]),
])
def test_bipartite_matching_succeeds_where_greedy_first_fit_fails(mode, args_mode, actual, reference):
    """agentevals' greedy first fit gives the first partial match away (superset: expected {x} takes actual {x,y},
    leaving nothing for expected {x,y}; subset mirrors it) and fails; a maximum matching pairs them crosswise."""
    outputs = [user(), assistant(*[("f", args) for args in actual]), tool(), tool(), assistant(content="ok")]
    expected_messages = [user(), assistant(*[("f", args) for args in reference]), tool(), tool(), assistant(content="ok")]
    assert by_messages(outputs, expected_messages, mode=mode, tool_args_match_mode=args_mode).score == 1.0


# -- strict: messages, and its fallback -----------------------------------------------------------------------------

def test_strict_without_expected_messages_falls_back_to_exact_and_says_so():
    result = match(calls("a", "b"), expected("b", "a"), mode="strict")
    assert result.score == 0.0
    assert result.explanation == (
        "Trajectory (strict, args=exact): FAIL — calls out of order: call 1 is a, expected b.\n"
        "- no expected_messages: strict compared the flattened calls exactly"
    )
    assert match(calls("a", "b"), expected("a", "b"), mode="strict").score == 1.0


def test_strict_with_messages_but_no_transcript_falls_back_and_says_so():
    result = match(calls("a"), {"expected_messages": [user(), assistant(("a", {}))]}, mode="strict")
    assert "the trajectory has no transcript (no messages, no LLM calls to rebuild them from)" in result.explanation
    assert result.score == 0.0  # actual a has no args recorded; the expected message gives {}
    assert match(calls(("a", {})), {"expected_messages": [user(), assistant(("a", {}))]}, mode="strict").score == 1.0


def test_strict_compares_roles_and_tool_call_presence_not_content():
    outputs = [user("x"), assistant(("a", {}), content="thinking"), tool("r"), assistant(content="done")]
    assert by_messages(outputs, [user("y"), assistant(("a", {})), tool("other"), assistant(content="else")]).score == 1.0
    result = by_messages(outputs, [user(), assistant(("a", {})), user(), assistant(content="")])
    assert result.score == 0.0 and "message 3 is tool, expected user" in result.explanation


def test_strict_keeps_tool_results_after_the_last_llm_call_and_ignores_system_prompts():
    outputs = [{"role": "system", "content": "be nice"}, user(), assistant(("a", {}, "c1")), tool("r", "c1")]
    assert by_messages(outputs, [user(), assistant(("a", {})), tool()]).score == 1.0
    unanswered = [user(), assistant(("a", {}, "c1"))]  # requested, never answered: no tool message is invented
    assert by_messages(unanswered, [user(), assistant(("a", {})), tool()]).score == 0.0
    assert by_messages(unanswered, [user(), assistant(("a", {}))]).score == 1.0


# The three decisions of issue 16 (documented in orchtui/evals/trajectory_match.py and the README): strict compares
# the transcript it is given, not one rebuilt from its last assistant message.

def test_strict_transcript_ending_on_a_user_message_matches_an_identical_reference():
    """Was a fail: the transcript was rebuilt from the last assistant message, which drops the trailing user turn."""
    transcript = [user("refund?"), assistant(("lookup_order", {"id": 1}, "c1")), tool("lost", "c1"), assistant(content="Refunded."), user("thanks")]
    result = by_messages(transcript, transcript)
    assert (result.score, result.label, result.findings) == (1.0, "pass", [])
    assert result.explanation == "Trajectory (strict, args=exact): PASS — roles and tool calls match message by message."
    shorter = by_messages(transcript, transcript[:-1])
    assert shorter.score == 0.0 and "5 messages vs 4 expected; first difference: message 5 is user, expected missing" in shorter.explanation


def test_strict_transcript_without_an_assistant_message_is_compared_not_skipped():
    """Was a pass: with no assistant message there was nothing to rebuild from, and strict fell back to the
    flattened calls, where no calls match any reference without calls."""
    result = by_messages([user("hello?")], [user("hello?"), assistant(content="Hi!")])
    assert (result.score, result.label) == (0.0, "warn")
    assert result.explanation.startswith(
        "Trajectory (strict, args=exact): FAIL — 1 messages vs 2 expected; first difference: message 2 is missing, expected assistant."
    )
    assert by_messages([user("hello?")], [user("hi")]).score == 1.0  # the same one message: a match
    assert by_messages([], []).score == 1.0


def test_strict_counts_system_messages_when_the_reference_has_them():
    """agentevals compares every message, system ones included: a reference that names the system prompt is held
    to it. A reference without any system message leaves the transcript's out, and the explanation says so."""
    system = {"role": "system", "content": "be brief"}
    transcript = [system, user(), assistant(content="ok")]
    assert by_messages(transcript, transcript).score == 1.0
    missing = by_messages([user(), assistant(content="ok")], [system, user(), assistant(content="ok")])
    assert missing.score == 0.0 and "2 messages vs 3 expected; first difference: message 1 is user, expected system" in missing.explanation
    left_out = by_messages(transcript, [user(), assistant(content="ok")])
    assert left_out.score == 1.0
    assert left_out.explanation == (
        "Trajectory (strict, args=exact): PASS — roles and tool calls match message by message.\n"
        "- the reference has no system message: the transcript's 1 system message(s) were not compared"
    )
    two = by_messages([system, system, user()], [system, user()])  # compared: one system message too many
    assert two.score == 0.0


def test_strict_call_difference_inside_a_message_is_named():
    outputs = [user(), assistant(("get_weather", {"city": "SF"})), tool(), assistant(content="a")]
    reference = [user(), assistant(("get_weather", {"city": "San Francisco"})), tool(), assistant(content="b")]
    result = by_messages(outputs, reference)
    assert result.explanation == (
        'Trajectory (strict, args=exact): FAIL — message 2 is assistant[get_weather{"city":"SF"}], expected '
        'assistant[get_weather{"city":"San Francisco"}]; expected get_weather{"city":"San Francisco"} has no matching '
        'call; nearest: get_weather{"city":"SF"} (args differ at "city").\n'
        '- get_weather{"city":"SF"} matches no expected call; nearest expected: get_weather{"city":"San Francisco"} '
        '(args differ at "city")'
    )
    assert {f.code for f in result.findings} == {"trajectory.missing_call", "trajectory.unexpected_call"}


# -- a real trace ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vendor_exception() -> Trajectory:
    store = SpanStore()
    load_paths([str(DATA / "langgraph/langgraph-openinference.otlp.jsonl")], store)
    analysis = next(a for a in Analyzer(store).all() if a.name == "vendor_exception")
    return Trajectory.from_trace(analysis)


def test_real_langgraph_trace_in_order(vendor_exception):
    result = match(vendor_exception, expected("lookup_policy", "compliance_review"), mode="in_order")
    assert (result.score, result.label, result.findings) == (1.0, "pass", [])
    assert result.components == {"precision": 1.0, "recall": 1.0}
    reversed_ = match(vendor_exception, expected("compliance_review", "lookup_policy"), mode="in_order")
    assert reversed_.score == 0.0 and reversed_.label == "warn"
    (finding,) = reversed_.findings
    assert finding.code == "trajectory.order" and finding.span_id == vendor_exception.tool_calls[0].span_id


def test_real_langgraph_trace_strict_messages(vendor_exception):
    """The terminal LLM call's conversation is rebuilt: user, two tool rounds, the answer."""
    reference = [
        user(), assistant(("lookup_policy", {"query": "vendor exception"})), tool(),
        assistant(("compliance_review", {"amount": 25000, "vendor": "Acme"})), tool(), assistant(content="ok"),
    ]
    assert match(vendor_exception, {"expected_messages": reference}, mode="strict").score == 1.0
    reference[3] = assistant(("compliance_review", {"amount": 25000.0, "vendor": "Acme"}))  # 25000 == 25000.0
    assert match(vendor_exception, {"expected_messages": reference}, mode="strict").score == 1.0


def test_a_retriever_inside_a_tool_is_that_tools_work_not_a_second_step():
    """§8.0: a retriever tool's vector search is one step; counting its nested retriever span too would report
    the call twice."""
    searched = tool_span("search", {"q": "refunds"}, span_id="search-1")
    nested = span("VectorStoreRetriever", "search-1", kind=RETRIEVER, input="refunds")
    trajectory = Trajectory.from_trace(analyse(root(), searched, nested))
    assert [call.name for call in trajectory.tool_calls] == ["search"]
    assert match(trajectory, expected(("search", {"q": "refunds"})), mode="exact").score == 1.0


def test_a_top_level_retrieval_is_a_step_a_golden_route_can_require():
    """A graph's retrieval node is a step of the path: a run that skips it departs from the golden route."""
    reference = {"expected_tool_calls": [{"name": "lookup_order"}, {"name": "retrieve_policy"}, {"name": "issue_refund"}]}
    path = [tool_span("lookup_order", {}), span("retrieve_policy", "root", kind=RETRIEVER, input="refund policy"), tool_span("issue_refund", {})]
    with_retrieval = Trajectory.from_trace(analyse(root(), *path))  # start times follow creation order
    without = Trajectory.from_trace(analyse(root(trace="t2"), tool_span("lookup_order", {}, trace="t2"), tool_span("issue_refund", {}, trace="t2")))
    assert match(with_retrieval, reference, mode="in_order", tool_args_match_mode="ignore").score == 1.0
    result = match(without, reference, mode="in_order", tool_args_match_mode="ignore")
    assert result.score == 0.0 and "retrieve_policy was never called" in result.explanation


def test_many_unmatched_calls_are_capped_in_the_explanation_not_the_findings():
    result = match(calls(*"abcdefgh"), expected(), mode="exact")
    assert len(result.findings) == 8
    lines = result.explanation.splitlines()
    assert lines[0] == "Trajectory (exact, args=exact): FAIL — 8 calls vs 0 expected; a matches no expected call (no a expected)."
    assert lines[1:] == [f"- {c} matches no expected call (no {c} expected)" for c in "bcdef"] + ["- … and 2 more"]
