"""ToolSelectionAccuracy (design/evaluators.md §8.1): validity, selection (F1 / required recall), their min, the
0-call rules, findings and the explanation, plus cases transcribed from ragas' ToolCallF1 / ToolCallAccuracy tests
and docs (reference/evaluators.md §4.1-4.2). Every call goes through `evaluate` so option validation runs too."""

from __future__ import annotations

import pytest

from orchtui.analysis import Analyzer
from orchtui.evals import Trajectory, evaluate
from orchtui.loading import load_paths
from orchtui.store import SpanStore
from tests.conftest import DATA


def calls(*specs, **extra) -> Trajectory:
    """calls("search", ("read", {"path": "a"}), ("x", {}, {"span_id": "s1"}))"""
    parts = [{"name": s} if isinstance(s, str) else {"name": s[0], "args": s[1], **(s[2] if len(s) > 2 else {})} for s in specs]
    return Trajectory.from_parts(tool_calls=parts, **extra)


def expected(*specs, **reference) -> dict:
    return {"expected_tool_calls": [{"name": s} if isinstance(s, str) else {"name": s[0], "args": s[1]} for s in specs], **reference}


def select(trajectory: Trajectory, reference=None, **options):
    return evaluate("ToolSelectionAccuracy", trajectory, reference, **options)


def codes(result) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in result.findings]


# -- the spec example -----------------------------------------------------------------------------------------------

def test_spec_example_explanation_and_numbers():
    """§8.1 step 5, character for character: F1 0.40 (set semantics), validity 0.75, score = min."""
    trajectory = calls("search", "search", "read_file", ("delete_db", None, {"span_id": "s4"}))
    reference = expected("search", "write_file", available_tools=["search", "read_file", "write_file"])
    result = select(trajectory, reference)
    assert result.explanation == (
        "Tool selection 0.40 — called [search ×2, read_file, delete_db]; expected [search, write_file]; precision 0.33, "
        "recall 0.50 (F1 0.40); write_file never called; read_file, delete_db not expected; delete_db is not in the "
        "available tools (validity 0.75)."
    )
    assert result.score == pytest.approx(0.4)
    assert result.components == pytest.approx({"selection": 0.4, "validity": 0.75, "precision": 1 / 3, "recall": 0.5})
    assert codes(result) == [
        ("tool.hallucinated", "critical"), ("tool.missing", "critical"), ("tool.unexpected", "warn"), ("tool.unexpected", "warn"),
    ]
    assert result.findings[0].span_id == "s4"
    assert result.label == "fail"


# -- validity -------------------------------------------------------------------------------------------------------

def test_validity_is_per_call_not_per_distinct_name():
    """FutureAGI §1.7-2 counts invalid *names*; V counts calls: 3 of 4 calls hit an unknown tool -> 0.25."""
    result = select(calls("ghost", "ghost", "ghost", "search"), {"available_tools": ["search"]})
    assert result.components["validity"] == 0.25 and result.score == 0.25
    (finding,) = result.findings
    assert finding.code == "tool.hallucinated" and finding.message == "ghost is not in the available tools (called 3×)"
    assert finding.evidence["calls"] == 3
    assert "selection not checked (no expected_tool_calls or required_tools)" in result.explanation


def test_denial_wins_over_unknown_and_not_allowed():
    """deepeval ToolPermission rule (reference §3.6): a denied call is reported as denied, once."""
    reference = {"available_tools": ["search"], "allowed_tools": ["search"], "denied_tools": ["rm"]}
    result = select(calls("rm", "search"), reference)
    assert codes(result) == [("tool.denied", "critical")]
    assert result.score == 0.5
    assert "rm is denied (validity 0.50)" in result.explanation


def test_not_allowed_and_hallucinated_are_separate():
    reference = {"available_tools": ["search", "write"], "allowed_tools": ["search"]}
    result = select(calls("search", "write", "ghost"), reference)
    assert sorted(codes(result)) == [("tool.hallucinated", "critical"), ("tool.not_allowed", "critical")]
    assert result.components["validity"] == pytest.approx(1 / 3)
    assert "write is not in the allowed tools" in result.explanation and "ghost is not in the available tools" in result.explanation


def test_denied_list_alone_makes_validity_known():
    assert select(calls("search"), {"denied_tools": ["rm"]}).components["validity"] == 1.0


def test_validity_is_one_without_calls_when_a_catalogue_is_known():
    result = select(calls(), {"available_tools": ["search"]})
    assert (result.score, result.label) == (1.0, "pass")
    assert "no tool called" in result.explanation and "all calls valid (validity 1.00)" in result.explanation


def test_catalogue_comes_from_the_trace_unless_the_reference_gives_one():
    trajectory = calls("search", "ghost", available_tools=["search", "ghost"])
    assert select(trajectory).components["validity"] == 1.0
    assert select(trajectory, {"available_tools": ["search"]}).components["validity"] == 0.5


# -- selection against expected calls --------------------------------------------------------------------------------

def test_set_semantics_collapse_duplicates_unless_count_duplicates():
    trajectory = calls("search", "search")
    assert select(trajectory, expected("search")).score == 1.0
    counted = select(trajectory, expected("search"), count_duplicates=True)
    assert counted.components == pytest.approx({"selection": 2 / 3, "validity": None, "precision": 0.5, "recall": 1.0})
    assert "search not expected" in counted.explanation
    assert codes(counted) == [("tool.unexpected", "warn")]
    assert counted.label == "warn"  # below threshold, no critical finding


def test_count_duplicates_names_a_tool_called_too_rarely():
    result = select(calls("search"), expected("search", "search"), count_duplicates=True)
    assert result.components["recall"] == 0.5
    assert "search called fewer times than expected" in result.explanation
    assert codes(result) == [("tool.missing", "critical")]


def test_match_args_uses_maximum_matching_under_the_args_matcher():
    trajectory = calls(("search", {"q": "paris"}), ("search", {"q": "london"}))
    names_only = select(trajectory, expected(("search", {"q": "rome"})))
    assert names_only.score == 1.0  # match_args off: only names count
    result = select(trajectory, expected(("search", {"q": "rome"})), match_args=True)
    assert result.score == 0.0
    assert 'search{"q":"rome"} only called with other arguments' in result.explanation
    assert 'search{"q":"paris"}, search{"q":"london"} not expected' in result.explanation
    partial = select(trajectory, expected(("search", {"q": "london"})), match_args=True)
    assert partial.components == pytest.approx({"selection": 2 / 3, "validity": None, "precision": 0.5, "recall": 1.0})


def test_match_args_with_overrides_and_superset_semantics_actual_first():
    trajectory = calls(("search", {"q": "paris", "limit": 5}))
    assert select(trajectory, expected(("search", {"q": "paris"})), match_args=True).score == 0.0
    assert select(trajectory, expected(("search", {"q": "paris"})), match_args=True, tool_args_match_mode="superset").score == 1.0
    assert select(trajectory, expected(("search", {"q": "paris"})), match_args=True, tool_args_match_mode="subset").score == 0.0
    assert select(trajectory, expected(("search", {"q": "paris", "limit": 9})), match_args=True, tool_args_match_overrides={"search": ["q"]}).score == 1.0
    seen = []
    select(trajectory, expected(("search", {"q": "x"})), match_args=True, tool_args_match_overrides={"search": lambda a, e: seen.append((a, e))})
    assert seen and all(pair == ({"q": "paris", "limit": 5}, {"q": "x"}) for pair in seen)  # (actual, expected)


def test_match_args_bipartite_matching_beats_greedy():
    """Expected [{x}, {x,y}] against calls [{x,y}, {x}] under superset args: first fit would give the first call to
    {x} and leave {x,y} unmatched (F1 0.5); the maximum matching pairs both."""
    trajectory = calls(("f", {"x": 1, "y": 2}), ("f", {"x": 1}))
    result = select(trajectory, expected(("f", {"x": 1}), ("f", {"x": 1, "y": 2})), match_args=True, tool_args_match_mode="superset")
    assert result.score == 1.0


def test_bool_is_not_a_number_but_int_is_float_in_match_args():
    assert select(calls(("f", {"flag": True})), expected(("f", {"flag": 1})), match_args=True).score == 0.0
    assert select(calls(("f", {"n": 2})), expected(("f", {"n": 2.0})), match_args=True).score == 1.0


def test_calls_whose_arguments_differ_only_as_1_and_1_0_are_one_distinct_call():
    """Found by the ragas F1 conformance grid: distinct calls were counted by canonical text ("1" vs "1.0"), so the
    same call made twice was two items, one of them a false positive."""
    twice = select(calls(("f", {"n": 1}), ("f", {"n": 1.0})), expected(("f", {"n": 1})), match_args=True)
    assert twice.score == 1.0 and twice.components["precision"] == 1.0
    nested = select(calls(("f", {"a": [1, {"b": 2.0}]}), ("f", {"a": [1.0, {"b": 2}]})), expected(("f", {"a": [1, {"b": 2}]})), match_args=True)
    assert nested.score == 1.0
    # True is not 1: two distinct calls, one of them unexpected.
    assert select(calls(("f", {"n": 1}), ("f", {"n": True})), expected(("f", {"n": 1})), match_args=True).components["precision"] == 0.5


def test_unparseable_arguments_match_only_as_identical_raw_strings():
    broken = '{"q": "par'
    assert select(calls(("search", broken)), expected(("search", broken)), match_args=True).score == 1.0
    assert select(calls(("search", broken)), expected(("search", {"q": "par"})), match_args=True).score == 0.0
    assert select(calls(("search", broken)), expected(("search", broken)), match_args=True, tool_args_match_mode="superset").score == 0.0


def test_expected_call_without_args_matches_any_args():
    assert select(calls(("search", {"q": "a"})), expected("search"), match_args=True).score == 1.0


def test_expected_calls_can_come_from_expected_messages():
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [{"function": {"name": "search", "arguments": "{}"}}]}]
    assert select(calls("search", "read"), {"expected_messages": messages}).components["recall"] == 1.0


# -- the 0-call rules -----------------------------------------------------------------------------------------------

def test_no_calls_and_none_expected_is_perfect():
    result = select(calls(), expected())
    assert (result.score, result.label) == (1.0, "pass")
    assert result.explanation.startswith("Tool selection 1.00 — no tool called; none expected; validity not checked")


def test_calls_when_none_should_run_score_zero():
    """ragas rule (n_E = 0 < n_A -> 0.0); 'expected_tool_calls: []' means no tool should be called."""
    result = select(calls(("search", None, {"span_id": "s1"})), expected())
    assert result.score == 0.0
    assert result.components["precision"] == 0.0 and result.components["recall"] is None
    assert "called [search]; expected no tool calls" in result.explanation
    assert codes(result) == [("tool.unexpected", "warn")] and result.findings[0].span_id == "s1"


def test_no_calls_when_some_were_expected_score_zero():
    result = select(calls(), expected("search", "read"))
    assert result.score == 0.0
    assert result.components["precision"] is None and result.components["recall"] == 0.0
    assert "search, read never called" in result.explanation
    assert result.label == "fail"


# -- required tools, and nothing to go on ----------------------------------------------------------------------------

def test_required_tools_recall():
    result = select(calls("search", "extra"), {"required_tools": ["search", "write"]})
    assert result.score == 0.5
    assert result.components == {"selection": 0.5, "validity": None, "precision": None, "recall": 0.5}
    assert "required [search, write]: 1 of 2 used; write never called" in result.explanation
    assert codes(result) == [("tool.missing", "critical")]


def test_required_tools_with_no_calls_is_zero_not_futureagi_one():
    """FutureAGI §1.4 returns 1.0 for 'No tool calls made.' even when tools were required (§1.7-1)."""
    assert select(calls(), {"required_tools": ["search"]}).score == 0.0


def test_expected_calls_take_precedence_over_required_tools():
    assert select(calls("a"), {"expected_tool_calls": [{"name": "a"}], "required_tools": ["b"]}).score == 1.0


def test_score_is_the_minimum_of_selection_and_validity():
    result = select(calls("search", "ghost"), {"required_tools": ["search"], "available_tools": ["search"]})
    assert result.components["selection"] == 1.0 and result.components["validity"] == 0.5
    assert result.score == 0.5


def test_nothing_to_judge_is_not_applicable():
    result = select(calls("search"))
    assert (result.score, result.passed, result.label) == (None, None, "n/a")
    assert result.explanation == "Tool selection n/a — no reference and no tool catalogue; give --judge-url for an LLM opinion."


def test_retriever_spans_are_not_tool_choices():
    trajectory = Trajectory.from_parts(tool_calls=[{"name": "search", "args": {}}, {"name": "VectorStoreRetriever", "kind": "retriever"}])
    assert select(trajectory, expected("search")).score == 1.0


# -- options --------------------------------------------------------------------------------------------------------

def test_options_are_validated():
    with pytest.raises(ValueError, match="ToolSelectionAccuracy has no option.*bogus"):
        select(calls(), expected(), bogus=1)
    with pytest.raises(ValueError, match="unknown profile 'fai'"):
        select(calls(), expected(), profile="fai")
    with pytest.raises(ValueError, match="ToolSelectionAccuracy has no option.*match_args under profile 'futureagi'"):
        select(calls(), expected(), profile="futureagi", match_args=True)
    with pytest.raises(ValueError, match="unknown tool_args_match_mode 'fuzzy'"):
        select(calls(), expected(), tool_args_match_mode="fuzzy")  # reported even with match_args off


def test_threshold_decides_pass():
    trajectory = calls("a", "b")
    assert select(trajectory, expected("a"), threshold=0.6).label == "pass"  # F1 2/3
    assert select(trajectory, expected("a")).label == "warn"


# -- ragas tests/unit/test_tool_call_f1.py and docs (ToolCallF1 = set F1 over (name, args)) --------------------------

def paris(name: str) -> tuple[str, dict]:
    return (name, {"location": "Paris"})


@pytest.mark.parametrize("predicted, reference, score", [
    ([paris("WeatherForecast")], [paris("WeatherForecast")], 1.0),  # test_tool_call_f1.py::test_tool_call_f1_full_match
    ([paris("WeatherForecast")], [paris("WeatherForecast"), paris("UVIndex")], 0.67),  # ::test_tool_call_f1_partial_match
    ([paris("AirQuality")], [paris("WeatherForecast")], 0.0),  # ::test_tool_call_f1_no_match
    ([paris("WeatherForecast"), paris("AirQuality")], [paris("WeatherForecast")], 0.67),  # ::test_tool_call_f1_extra_call
    ([paris("weather_check"), paris("uv_index_lookup")], [paris("weather_check"), paris("uv_index_lookup")], 1.0),  # docs agents.md "Matching Expected Tool Calls"
    ([paris("weather_check"), paris("uv_index_lookup"), paris("air_quality")], [paris("uv_index_lookup"), paris("weather_check")], 0.8),  # docs "Extra Tool Called": code gives 0.8, docs print 0.67 (RG-16)
])
def test_ragas_tool_call_f1(predicted, reference, score):
    """ragas test_tool_call_f1.py and docs/concepts/metrics/available_metrics/agents.md (cases named per row)."""
    result = select(calls(*predicted), expected(*reference), match_args=True)
    assert round(result.score, 2) == score


def test_ragas_tool_call_f1_unhashable_args_are_fine_here():
    """ragas ToolCallF1 raises on list/dict argument values (frozenset(args.items())); open question 4."""
    trajectory = calls(("compose", {"citations": ["a", "b"], "meta": {"tone": "dry"}}))
    assert select(trajectory, expected(("compose", {"meta": {"tone": "dry"}, "citations": ["a", "b"]})), match_args=True).score == 1.0


@pytest.mark.parametrize("predicted, reference, score", [
    ([], [("search", {"query": "python"})], 0.0),  # test_tool_call_accuracy.py::test_no_predicted_tool_calls
    ([], [], 1.0),  # ::test_empty_reference_tool_calls
    ([("unexpected", {})], [], 0.0),  # ::test_empty_reference_with_predictions
    ([("wrong_tool", {"query": "python"})], [("search", {"query": "python"})], 0.0),  # ::test_wrong_tool_names
])
def test_ragas_tool_call_accuracy_boundary_rules(predicted, reference, score):
    """ragas test_tool_call_accuracy.py boundary cases (named per row): the 0-call rules §8.1 adopts."""
    assert select(calls(*predicted), expected(*reference), match_args=True).score == score


# -- a real trace ---------------------------------------------------------------------------------------------------

def test_real_langgraph_trace():
    store = SpanStore()
    load_paths([str(DATA / "langgraph/langgraph-openinference.otlp.jsonl")], store)
    analysis = next(a for a in Analyzer(store).all() if a.name == "vendor_exception")
    trajectory = Trajectory.from_trace(analysis)
    result = select(trajectory, expected("lookup_policy", "compliance_review"))
    assert (result.score, result.label) == (1.0, "pass")
    denied = select(trajectory, {"required_tools": ["lookup_policy"], "denied_tools": ["compliance_review"]})
    assert denied.score == 0.5 and codes(denied) == [("tool.denied", "critical")]
    assert denied.findings[0].span_id == trajectory.tool_calls[1].span_id
