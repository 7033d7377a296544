"""Faithfulness (design/evaluators.md §8.8): claims, coverage, numbers, contradictions, the score and its n/a cases.

Cases named after FutureAGI transcribe its tests/sdk/test_hallucination.py inputs (which only assert bounds; the
exact values below follow §8.8's formula). deepeval (no verdicts -> 1) and ragas (no statements -> NaN) disagree on
an answer without claims; §8.8 follows FutureAGI/deepeval.
"""

from __future__ import annotations

import pytest

from orchtui.evals import Context, Trajectory, evaluate


def faith(answer, *contexts, user=None, **options):
    """`contexts`: plain texts (tool results of `lookup`, spans s0, s1, ...) or Context objects."""
    built = [c if isinstance(c, Context) else Context(c, f"s{i}", "tool_result", "lookup") for i, c in enumerate(contexts)]
    return evaluate("Faithfulness", Trajectory.from_parts(final_output=answer, user_input=user, contexts=built), **options)


def labels(result):
    return [(c["claim"], c["label"]) for c in result.details["claims"]]


# -- supported / unsupported / neutral -------------------------------------------------------------------------------

def test_futureagi_fully_faithful_response_is_supported():
    result = faith("Paris is the capital of France. France is located in Europe.", "Paris is the capital of France, a country located in Western Europe.")
    assert (result.score, result.label, result.findings) == (1.0, "pass", [])
    assert [label for _, label in labels(result)] == ["supported", "supported"]


def test_futureagi_hallucinated_response_gets_no_credit():
    """FutureAGI gives zero-overlap claims 0.4 (NEUTRAL); §8.8 gives them nothing (fixes §1.7-6)."""
    result = faith("Unicorns live in the forest. Dragons fly over mountains.", "Paris is the capital of France. Berlin is the capital of Germany.")
    assert (result.score, result.passed, result.label) == (0.0, False, "warn")
    assert [(f.code, f.severity, f.span_id) for f in result.findings] == [("faithfulness.unsupported", "warn", None)] * 2


def test_futureagi_partial_hallucination_and_the_spec_explanation():
    result = faith("It is 18C and sunny in Paris. Aliens built the pyramids.", Context("Paris: 18C, sunny", "3b", "tool_result", "get_weather"))
    assert result.score == 0.5 and result.label == "warn"
    assert result.explanation.splitlines()[0] == (
        'Faithfulness 0.50 — 2 claims; 1 supported by get_weather result (span 3b); '
        '1 unsupported: "Aliens built the pyramids." (no overlap with any tool output).'
    )
    assert result.findings[0].message == 'claim "Aliens built the pyramids." is unsupported (no overlap with any tool output)'


def test_futureagi_multiple_contexts_best_context_per_claim():
    result = faith(
        "Albert Einstein developed the theory of relativity. He was born in Germany.",
        "Albert Einstein was a theoretical physicist.",
        "Einstein developed the theory of relativity.",
        "Einstein was born in Ulm, Germany in 1879.",
    )
    assert result.score == 1.0
    assert [c["span_id"] for c in result.details["claims"]] == ["s1", "s2"]


def test_neutral_claims_get_partial_credit():
    answer = "The museum opens at noon on Mondays."  # content: museum opens noon mondays -> 2 of 4 covered
    context = "The museum is closed for renovation; tours run on Mondays."
    result = faith(answer, context)
    assert labels(result) == [(answer, "neutral")] and result.details["claims"][0]["coverage"] == 0.5
    assert (result.score, result.findings) == (0.4, [])
    assert faith(answer, context, neutral_credit=0.0).score == 0.0
    assert faith(answer, context, neutral_credit=1.0).score == 1.0


def test_low_coverage_is_unsupported_and_names_the_closest_context():
    result = faith("The new museum wing displays ancient Roman pottery.", "x", "Opening hours of the museum: 9 to 5.")
    finding = result.findings[0]
    assert (result.score, finding.code, finding.span_id) == (0.0, "faithfulness.unsupported", "s1")
    assert "closest: lookup result (span s1)" in finding.message


def test_a_number_found_in_no_context_is_unsupported_even_with_high_coverage():
    result = faith("The Paris office is sunny and quiet today with 25 staff.", "The Paris office is sunny and quiet today.")
    claim = result.details["claims"][0]
    assert (claim["label"], claim["reason"]) == ("unsupported", "number 25 appears in no tool output")
    assert result.score == 0.0


def test_score_formula_mixes_the_three_kinds():
    result = faith(
        "The museum opens at noon on Mondays. Paris is the capital of France. Aliens built the pyramids.",
        "Paris is the capital of France.",
        "The museum is closed for renovation; tours run on Mondays.",
    )
    assert [label for _, label in labels(result)] == ["neutral", "supported", "unsupported"]
    assert result.score == round((1 + 0.4) / 3, 4)


# -- contradictions --------------------------------------------------------------------------------------------------

def test_futureagi_numeric_contradiction_fails():
    result = faith("The Eiffel Tower is 500 meters tall.", "The Eiffel Tower is 330 meters tall.")
    assert (result.score, result.label) == (0.0, "fail")
    finding = result.findings[0]
    assert (finding.code, finding.severity, finding.span_id) == ("faithfulness.contradicted", "critical", "s0")
    assert finding.message == 'claim "The Eiffel Tower is 500 meters tall." is contradicted by lookup result (span s0): it has 330, not 500'


@pytest.mark.parametrize(
    "answer,context",
    [
        ("Python is not a programming language.", "Python is a programming language."),  # FutureAGI explicit negation
        ("The store isn't open on Sunday.", "The store is open on Sunday."),  # a contraction is a negation too
        ("The Earth is round.", "The Earth is not round."),
    ],
)
def test_negation_contradiction(answer, context):
    result = faith(answer, context)
    assert labels(result) == [(answer, "contradicted")] and result.label == "fail"
    assert "negation differs" in result.findings[0].message


def test_a_negation_contradiction_wins_over_a_supporting_context():
    result = faith("The store is open on Sunday.", "The store is open on Sunday.", "The store is not open on Sunday.")
    assert labels(result)[0][1] == "contradicted" and result.findings[0].span_id == "s1"


def test_tool_results_that_disagree_on_a_number_support_the_claim_matching_one_of_them():
    """Deliberate difference from FutureAGI (checked one context at a time, "a contradiction wins"): claims are
    checked against the union of the contexts, so a number some tool returned is not contradicted by another
    tool's number. Two sources disagreeing is for the reader to see in the trace; the claim is grounded."""
    result = faith("The Eiffel Tower is 500 meters tall.", "The Eiffel Tower is 500 meters tall.", "The Eiffel Tower is 330 meters tall.")
    assert labels(result) == [("The Eiffel Tower is 500 meters tall.", "supported")] and result.details["claims"][0]["span_id"] == "s0"
    assert (result.score, result.findings) == (1.0, [])


def test_negation_elsewhere_in_a_long_tool_output_is_no_contradiction():
    """FutureAGI compares negation with the whole context: its "No parking" would contradict this claim."""
    assert faith("The store is open on Sunday.", "The store is open on Sunday.\nNo parking available.").score == 1.0
    assert faith("It is sunny in Paris.", '{"city": "Paris", "sky": "sunny", "rain": "no"}').score == 1.0


# -- numbers ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "answer,context",
    [
        ("The order total was $1,234.50 for 3 items.", "order 881: total 1234.5 USD, items: 3"),
        ("The total was 1.234,5 euros.", "total 1234.50 euros"),  # decimal comma
        ("It is 72F and sunny in Paris.", '{"city": "Paris", "temp_f": 72.0, "sky": "sunny"}'),
        ("The download is 5km and 20% complete.", "download: 5 km, 20 % complete"),
    ],
)
def test_numbers_are_normalised_before_comparison(answer, context):
    assert labels(faith(answer, context)) == [(answer, "supported")]


def test_a_list_or_version_is_not_one_number():
    assert labels(faith("Upgrade to version 1.2.3 today.", "Release notes: version 1.2.3 is out today."))[0][1] == "supported"


# -- claims ----------------------------------------------------------------------------------------------------------

def test_claims_split_lines_bullets_and_sentences_and_skip_what_is_not_checkable():
    answer = (
        "## Weather report for Paris\n"
        "Here are the results you asked for:\n"
        "- It is 18C in Paris.\n"
        "2) Dr. Smith confirmed rain by evening.\n"
        "```python\nprint('not a claim at all')\n```\n"
        "Would you like a forecast for tomorrow? I think it may clear up later. Thanks for asking!\n"
        "His reports are always accurate."
    )
    result = faith(answer, "Paris 18C. Dr. Smith: rain by evening.")
    assert [claim for claim, _ in labels(result)] == ["It is 18C in Paris.", "Dr. Smith confirmed rain by evening.", "His reports are always accurate."]


@pytest.mark.parametrize(
    "answer",
    ["Oh? Really?", "Sure! Let me know if you need anything else.", "Hello there!", "Here is what I found:"],
)
def test_an_answer_without_verifiable_claims_scores_1_with_a_note(answer):
    """FutureAGI test_empty_claims ("Oh? Really?") and deepeval: nothing to verify is not a failure."""
    result = faith(answer, "Some context here.")
    assert (result.score, result.label, result.findings) == (1.0, "pass", [])
    assert "no verifiable claims" in result.explanation


# -- inputs and n/a --------------------------------------------------------------------------------------------------

def test_no_tool_output_is_not_applicable_even_with_user_input():
    result = faith("Paris is the capital of France.", user="What is the capital of France?")
    assert (result.score, result.passed, result.label) == (None, None, "n/a")
    assert "nothing to ground against" in result.explanation


@pytest.mark.parametrize("answer", [None, "", "   \n"])
def test_an_empty_answer_is_not_applicable(answer):
    result = faith(answer, "Paris is the capital of France.")
    assert (result.score, result.label) == (None, "n/a") and "empty" in result.explanation


def test_user_supplied_facts_count_unless_disabled():
    answer = "Your order number 4471 has shipped."
    kwargs = {"user": "Where is my order? The order number is 4471."}
    with_user = faith(answer, "Order status: shipped", **kwargs)
    assert labels(with_user) == [(answer, "supported")] and with_user.details["claims"][0]["context"] == "user input"
    without = faith(answer, "Order status: shipped", include_user_input=False, **kwargs)
    assert labels(without) == [(answer, "unsupported")]


def test_contexts_from_chat_messages_and_retrieved_documents():
    trajectory = Trajectory.from_messages(
        [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": '{"city": "Paris", "temp_c": 18}'},
            {"role": "assistant", "content": "It is 18 degrees in Paris."},
        ]
    )
    result = evaluate("Faithfulness", trajectory)
    assert labels(result) == [("It is 18 degrees in Paris.", "supported")]  # 2 of 3 content words: 0.67
    assert result.details["claims"][0]["context"] == "tool result"
    doc = faith("The refund window is 30 days.", Context("Refunds: the refund window is 30 days.", "r1", "retrieved_doc", "policy.md"))
    assert doc.details["claims"][0]["context"] == "retrieved document policy.md" and doc.score == 1.0


def test_neutral_credit_outside_0_1_is_an_error():
    with pytest.raises(ValueError, match="neutral_credit"):
        faith("Paris is the capital of France.", "Paris is the capital of France.", neutral_credit=1.5)
