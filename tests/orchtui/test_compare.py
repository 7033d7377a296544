"""Two runs side by side (orchtui.analysis.compare): the alignment and what each row says."""

from __future__ import annotations

import random

import pytest

from orchtui.analysis import Analyzer
from orchtui.analysis import compare as compare_module
from orchtui.analysis.compare import align, compare_traces, compare_with_golden, greedy_pairs, myers_pairs
from orchtui.demo import demo_spans
from orchtui.loading import load_paths
from orchtui.store import SpanStore
from parsers.span import ERROR, OK, RETRIEVER, Tokens
from tests.spans import analyse, llm, root, span, tool

MS = 1_000_000


def run(*steps: tuple, trace: str = "t1", name: str = "refund_request"):
    """A trace from step specs, 10 ms apart: ("llm", model, prompt_tokens), ("tool", name, args, ms, status),
    ("retriever", name, query, ms)."""
    spans = [root(name, trace=trace)]
    for number, step in enumerate(steps, 1):
        start = number * 10 * MS
        if step[0] == "llm":
            _, model, prompt = step
            spans.append(llm(trace=trace, model=model, tokens=Tokens(prompt=prompt, completion=10, total=prompt + 10), start=start, end=start + 5 * MS))
        elif step[0] == "tool":
            _, tool_name, args, ms, *status = step
            spans.append(tool(tool_name, args, trace=trace, start=start, end=start + ms * MS, status=status[0] if status else OK))
        else:
            _, tool_name, query, ms = step
            spans.append(span(tool_name, "root", kind=RETRIEVER, trace=trace, input=query, start=start, end=start + ms * MS))
    return analyse(*spans)


GOOD = (("llm", "gpt-4o-mini", 600), ("tool", "lookup_order", {"order_id": "8812"}, 2), ("retriever", "retrieve_policy", "refunds", 3),
        ("llm", "gpt-4o-mini", 900), ("tool", "issue_refund", {"order_id": "8812", "amount": 129.0}, 4), ("llm", "gpt-4o", 1200))


def ops(comparison) -> list[tuple[str, str | None, str | None]]:
    return [(row.op, row.a.name if row.a else None, row.b.name if row.b else None) for row in comparison.rows]


def test_identical_runs_are_all_same():
    comparison = compare_traces(run(*GOOD), run(*GOOD, trace="t2"))
    assert [op for op, _, _ in ops(comparison)] == ["same"] * 6
    assert not comparison.differs
    assert comparison.summary().startswith("6 steps vs 6: same steps")


def test_a_skipped_retrieval_is_one_skipped_row_at_its_place():
    without = tuple(step for step in GOOD if step[0] != "retriever")
    comparison = compare_traces(run(*GOOD), run(*without, trace="t2"))
    assert ops(comparison)[2] == ("skipped", "retrieve_policy", None)
    assert comparison.counts["skipped"] == 1 and comparison.counts["same"] == 5
    skipped = comparison.rows[2]
    assert (skipped.a_index, skipped.b_index) == (3, None)
    assert skipped.duration_delta_ms == pytest.approx(-3.0)  # what B saved: A's retrieval time
    assert "1 skipped (⌕ retrieve_policy)" in comparison.summary()


def test_an_inserted_new_tool_is_extra_and_a_second_call_is_repeated():
    longer = GOOD[:2] + (("tool", "lookup_order", {"order_id": "8812"}, 2), ("tool", "notify_customer", {"to": "a@b"}, 1)) + GOOD[2:]
    comparison = compare_traces(run(*GOOD), run(*longer, trace="t2"))
    assert ("repeated", None, "lookup_order") in ops(comparison)
    assert ("extra", None, "notify_customer") in ops(comparison)
    assert comparison.counts == {"same": 6, "changed": 0, "skipped": 0, "extra": 1, "repeated": 1, "moved": 0}
    extra = next(row for row in comparison.rows if row.op == "extra")
    assert extra.b_index == 4 and extra.duration_delta_ms == pytest.approx(1.0)  # what B spent on it


def test_reordered_steps_are_one_move_not_a_skip_and_an_extra():
    reordered = (GOOD[0], GOOD[2], GOOD[1]) + GOOD[3:]
    comparison = compare_traces(run(*GOOD), run(*reordered, trace="t2"))
    assert comparison.counts["moved"] == 1 and comparison.counts["skipped"] == 0 and comparison.counts["extra"] == 0
    moved = next(row for row in comparison.rows if row.op == "moved")
    assert moved.a.name == moved.b.name
    assert moved.changes[0] == f"A step {moved.a_index} -> B step {moved.b_index}"
    assert len(comparison.rows) == 6  # each step of each side appears once


def test_changed_arguments_are_named_key_by_key():
    changed = GOOD[:4] + (("tool", "issue_refund", {"order_id": "8812", "amount": 12.9, "reason": "lost"}, 4),) + GOOD[5:]
    comparison = compare_traces(run(*GOOD), run(*changed, trace="t2"))
    row = comparison.rows[4]
    assert row.op == "changed"
    assert row.changes == ("args.amount: 129.0 -> 12.9", 'args.reason added: "lost"')


def test_argument_keys_removed_and_non_object_arguments():
    assert compare_module.argument_changes({"a": 1, "b": 2}, {"a": 1}) == ["args.b removed (was 2)"]
    assert compare_module.argument_changes("refunds", "refund policy") == ['args "refunds" -> "refund policy"']
    assert compare_module.argument_changes({"q": "x" * 100}, {"q": "y"})[0].startswith('args.q: "xxxxxxx')
    assert len(compare_module.argument_changes({"q": "x" * 100}, {"q": "y"})[0]) < 100  # long values are clipped


def test_a_model_fallback_aligns_the_call_and_reports_the_model_and_deltas():
    fallback = GOOD[:5] + (("llm", "gpt-4.1", 1500),)
    comparison = compare_traces(run(*GOOD), run(*fallback, trace="t2"))
    row = comparison.rows[5]
    assert row.op == "changed" and row.changes == ("model gpt-4o -> gpt-4.1",)
    assert row.tokens_delta == 300
    assert comparison.counts["skipped"] == 0 and comparison.counts["extra"] == 0


def test_a_step_that_now_fails_reports_its_status():
    failing = GOOD[:1] + (("tool", "lookup_order", {"order_id": "8812"}, 2, ERROR),) + GOOD[2:]
    row = compare_traces(run(*GOOD), run(*failing, trace="t2")).rows[1]
    assert row.op == "changed" and "status ok -> error" in row.changes


def test_golden_route_compares_tool_names_only():
    without = tuple(step for step in GOOD if step[0] != "retriever")
    expected = [{"name": "lookup_order"}, {"name": "retrieve_policy"}, {"name": "issue_refund"}]
    comparison = compare_with_golden("refund_*", expected, run(*without))
    assert comparison.golden and comparison.a_label == "golden route refund_*"
    assert ops(comparison) == [("same", "lookup_order", "lookup_order"), ("skipped", "retrieve_policy", None), ("same", "issue_refund", "issue_refund")]
    assert comparison.rows[0].tokens_delta is None  # a golden route has no numbers to subtract


def test_a_golden_retriever_skipped_by_b_reads_as_a_retriever_in_the_summary():
    """A golden route records names only: the kind comes from runs of the route (B's own steps first), so the
    summary names a skipped retriever with the retriever glyph (⌕), not the tool glyph (▣)."""
    without = tuple(step for step in GOOD if step[0] != "retriever")
    expected = [{"name": "lookup_order"}, {"name": "retrieve_policy"}, {"name": "issue_refund"}]
    comparison = compare_with_golden("refund_*", expected, run(*without))
    assert "1 skipped (▣ retrieve_policy)" in comparison.summary()  # nothing says what it was
    named = comparison.with_golden_kinds([run(*GOOD, trace="t0")])
    assert "1 skipped (⌕ retrieve_policy)" in named.summary()
    assert [row.a.kind for row in named.rows] == ["tool", "retriever", "tool"]
    assert [step.kind for step in named.a.steps] == ["tool", "retriever", "tool"]


def test_a_golden_retriever_b_took_is_a_retriever_in_the_json_too():
    expected = [{"name": "retrieve_policy"}, {"name": "lookup_order"}, {"name": "issue_refund"}]  # B reorders it
    rows = compare_with_golden("refund_*", expected, run(*GOOD)).to_json()["rows"]
    assert {row["a"]["name"]: row["a"]["kind"] for row in rows if row["a"]} == {
        "retrieve_policy": "retriever", "lookup_order": "tool", "issue_refund": "tool"}


def test_golden_route_arguments_count_only_when_asked():
    expected = [{"name": "lookup_order", "args": {"order_id": "9999"}}, {"name": "retrieve_policy"}, {"name": "issue_refund"}]
    good = run(*GOOD)
    assert not compare_with_golden("refund_*", expected, good).differs
    strict = compare_with_golden("refund_*", expected, good, compare_args=True)
    assert strict.rows[0].changes == ('args.order_id: "9999" -> "8812"',)


def test_to_json_is_the_documented_document():
    without = tuple(step for step in GOOD if step[0] != "retriever")
    document = compare_traces(run(*GOOD), run(*without, trace="t2")).to_json()
    assert set(document) == {"version", "a", "b", "golden", "approximate", "differs", "counts", "summary", "rows"}
    assert document["a"]["trace_id"] == "t1" and document["a"]["steps"] == 6 and document["b"]["steps"] == 5
    skipped = document["rows"][2]
    assert skipped["op"] == "skipped" and skipped["b"] is None and skipped["a"]["name"] == "retrieve_policy"
    assert set(skipped) == {"op", "a", "b", "a_index", "b_index", "changes", "tokens_delta", "cost_delta_usd", "duration_delta_ms"}


def test_the_demo_refund_runs_differ_by_the_skipped_retrieval():
    store = SpanStore()
    store.add(demo_spans())
    refunds = sorted((a for a in Analyzer(store).all() if a.name == "refund_request"), key=lambda a: a.start_ns)
    found, skipped = refunds[1], refunds[2]  # refunds[0] is the run whose retrieval missed
    comparison = compare_traces(found, skipped)
    assert comparison.named("skipped") == ["⌕ retrieve_policy"]
    assert comparison.counts["skipped"] == 1 and comparison.counts["same"] == 5
    second_call = comparison.rows[3]
    assert second_call.a.kind == "llm" and second_call.tokens_delta == -145  # less context without the policy


def test_every_step_of_real_fixture_traces_appears_once(data_dir):
    store = SpanStore()
    load_paths([str(data_dir / "langgraph" / "langgraph-openinference.otlp.jsonl")], store)
    analyses = Analyzer(store).all()
    assert len(analyses) >= 2
    for a in analyses:
        for b in analyses:
            comparison = compare_traces(a, b)
            a_seen = sorted(row.a_index for row in comparison.rows if row.a is not None)
            b_seen = sorted(row.b_index for row in comparison.rows if row.b is not None)
            assert a_seen == list(range(1, len(comparison.a.steps) + 1))
            assert b_seen == list(range(1, len(comparison.b.steps) + 1))
            if a.trace_id == b.trace_id:
                assert not comparison.differs


def _lcs_length(a: list[str], b: list[str]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    return table[0][0]


def _valid(pairs, a, b) -> bool:
    increasing = all(p[0] < q[0] and p[1] < q[1] for p, q in zip(pairs, pairs[1:]))
    return increasing and all(a[i] == b[j] for i, j in pairs)


def test_the_alignment_is_a_longest_common_subsequence():
    generator = random.Random(7)
    for _ in range(2000):
        a = [generator.choice("abcd") for _ in range(generator.randint(0, 14))]
        b = [generator.choice("abcd") for _ in range(generator.randint(0, 14))]
        pairs, approximate = align(a, b)
        assert not approximate and _valid(pairs, a, b)
        assert len(pairs) == _lcs_length(a, b), (a, b)


def test_beyond_the_edit_budget_the_greedy_fallback_is_valid_and_said(monkeypatch):
    assert myers_pairs(list("abcabc"), list("cbacba"), 1) is None
    monkeypatch.setattr(compare_module, "MAX_EDIT_DISTANCE", 2)
    a, b = list("xaybzcqd"), list("awbxcydz")
    pairs, approximate = align(a, b)
    assert approximate and _valid(pairs, a, b) and pairs
    generator = random.Random(3)
    for _ in range(500):
        a = [generator.choice("abc") for _ in range(generator.randint(0, 30))]
        b = [generator.choice("abc") for _ in range(generator.randint(0, 30))]
        assert _valid(greedy_pairs(a, b, 8), a, b)
