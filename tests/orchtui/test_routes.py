"""Routes: grouping by family and path, each statistic against a naive reference, the expensive-branch rule,
incremental upkeep of the RouteBook, and the JSON rows `orchtui routes` prints."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter, defaultdict
from fractions import Fraction

import pytest

from orchtui.analysing_sink import AnalysingSink
from orchtui.analysis import Analyzer
from orchtui.analysis import routes as routes_module
from orchtui.analysis.routes import (
    BY_FAMILY,
    BY_PATH,
    RouteBook,
    TraceRoute,
    _percentile_of_rest,
    family_id,
    route_id,
    trace_route,
)
from orchtui.analysis.steps import PathStep, collapse, trace_steps
from orchtui.demo import demo_spans, write_demo_file
from orchtui.loading import load_paths
from orchtui.live import TraceIndex
from orchtui.stats import nearest_rank
from orchtui.store import SpanStore
from parsers import payloads
from parsers.span import ERROR, Tokens
from tests.orchtui.route_batches import Truth, generated_batch
from tests.orchtui.test_fixture_traces import LANGGRAPH, all_analyses
from tests.spans import analyse, llm, span, tool

# -- references --------------------------------------------------------------------------------------------------------


def naive_percentile(values: list[float], p: float) -> float | None:
    """The smallest observed value whose rank r among n sorted values has r/n >= p/100 (exact fractions)."""
    ordered = sorted(values)
    for rank in range(1, len(ordered) + 1):
        if Fraction(rank * 100, len(ordered)) >= Fraction(str(p)):
            return ordered[rank - 1]
    return None


def naive_mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def reference_row(truths: list[Truth], family_traces: int) -> dict:
    """What a stats row must say about `truths`, from the generator's ground truth only."""
    n = len(truths)
    durations = [t.duration_ms for t in truths]
    costs = sorted(t.cost_usd for t in truths if t.cost_usd is not None)
    tokens = sorted(t.tokens for t in truths if t.tokens is not None)
    calls = sum(t.tool_calls for t in truths)
    uses: Counter[str] = Counter()
    for truth in truths:
        uses.update(truth.models)
    return {
        "traces": n,
        "share": n / family_traces,
        "success_rate": sum(t.success for t in truths) / n,
        "latency_p50_ms": naive_percentile(durations, 50),
        "latency_p95_ms": naive_percentile(durations, 95),
        "latency_p99_ms": naive_percentile(durations, 99),
        "tokens_mean": naive_mean(tokens),
        "tokens_p95": naive_percentile(tokens, 95),
        "cost_mean_usd": naive_mean(costs),
        "cost_p95_usd": naive_percentile(costs, 95),
        "cost_traces": len(costs),
        "retries_per_trace": sum(t.retries for t in truths) / n,
        "tool_calls_per_trace": calls / n,
        "tool_error_rate": sum(t.tool_errors for t in truths) / calls if calls else None,
        "timeout_rate": sum(t.timeouts for t in truths) / calls if calls else None,
        "loop_rate": sum(t.loop for t in truths) / n,
        "stop_problem_rate": sum(t.stop_problem for t in truths) / n,
        "models": sorted(uses, key=lambda model: (-uses[model], model)),
    }


def reference_expensive(route: list[Truth], family: list[Truth]) -> set[str]:
    """Which of the rule's two variants hold, with the rest of the family built as an explicit list."""
    ids = {t.trace_id for t in route}
    rest = [t for t in family if t.trace_id not in ids]
    if not rest:
        return set()
    reasons = set()
    mean = naive_mean([t.cost_usd for t in route if t.cost_usd is not None])
    rest_median = naive_percentile([t.cost_usd for t in rest if t.cost_usd is not None], 50)
    if mean is not None and rest_median is not None and mean > 0 and mean >= 2 * rest_median:
        reasons.add("cost")
    p95 = naive_percentile([t.duration_ms for t in route], 95)
    rest_p95 = naive_percentile([t.duration_ms for t in rest], 95)
    if p95 is not None and rest_p95 is not None and p95 > 0 and p95 >= 2 * rest_p95:
        reasons.add("latency")
    return reasons


def reason_kinds(reasons: list[str]) -> set[str]:
    return {"cost" if reason.startswith("cost ") else "latency" for reason in reasons}


def row_values(row, keys) -> dict:
    return {key: getattr(row, key) for key in keys}


def book_of(analyses) -> RouteBook:
    book = RouteBook()
    for analysis in analyses:
        book.update(analysis)
    return book


# -- hand-built traces -------------------------------------------------------------------------------------------------


def run(trace: str, family: str, *steps: tuple, start: int = 0, duration_ms: float = 10, status: str = "ok"):
    """A finished run: root `family`, then `steps` in order under it: ("llm", model) or ("tool", name)."""
    spans = [span(family, None, span_id="root", kind="agent", trace=trace, start=start, end=start + int(duration_ms * 1e6), status=status)]
    for index, (kind, name) in enumerate(steps):
        at = start + 1000 * (index + 1)
        if kind == "llm":
            spans.append(llm(trace=trace, model=name, tokens=Tokens(100, 10, 110), start=at, end=at + 500))
        else:
            spans.append(tool(name, {"n": index}, trace=trace, start=at, end=at + 500))
    return analyse(*spans)


def made_route(trace_id: str, family: str, keys: list[str], *, duration_ms: float | None = 100.0, cost: float | None = 0.01,
               start_ns: int | None = 0, **fields) -> TraceRoute:
    """A TraceRoute as the book receives it, for aggregation tests that need exact numbers."""
    path = tuple(PathStep(key, key.removeprefix("tool:"), 1) for key in keys)
    values = dict(tokens=None, retries=0, tool_calls=0, tool_errors=0, timeouts=0, loop=False, stop_problem=False, success=True, models=())
    values.update(fields)
    return TraceRoute(trace_id, family, path, route_id(family, path), start_ns, duration_ms, cost_usd=cost, **values)


# -- grouping ----------------------------------------------------------------------------------------------------------


def test_same_family_and_path_share_a_route_whatever_the_arguments_and_numbers():
    a = run("a", "refund_request", ("llm", "gpt-4o-mini"), ("tool", "lookup_order"), duration_ms=10)
    b = run("b", "refund_request", ("llm", "gpt-4o-mini"), ("tool", "lookup_order"), duration_ms=99)
    other_family = run("c", "order_status", ("llm", "gpt-4o-mini"), ("tool", "lookup_order"))
    routes = [trace_route(x) for x in (a, b, other_family)]
    assert routes[0].route_id == routes[1].route_id
    assert routes[0].path_text == routes[2].path_text == "llm:gpt-4o-mini > lookup_order"
    assert routes[2].route_id != routes[0].route_id
    rows = book_of([a, b, other_family]).stats()
    assert [(row.family, row.traces) for row in rows] == [("order_status", 1), ("refund_request", 2)]


def test_different_models_make_different_routes():
    mini = trace_route(run("a", "refund_request", ("llm", "gpt-4o-mini"), ("tool", "lookup_order")))
    big = trace_route(run("b", "refund_request", ("llm", "gpt-4o"), ("tool", "lookup_order")))
    assert mini.route_id != big.route_id
    assert (mini.models, big.models) == (("gpt-4o-mini",), ("gpt-4o",))


def test_consecutive_repeats_collapse_with_counts_and_the_count_is_part_of_the_route():
    four = trace_route(run("a", "policy", ("llm", "gpt-4o-mini"), *[("tool", "lookup_policy")] * 4, ("llm", "gpt-4o-mini")))
    three = trace_route(run("b", "policy", ("llm", "gpt-4o-mini"), *[("tool", "lookup_policy")] * 3, ("llm", "gpt-4o-mini")))
    assert four.path_text == "llm:gpt-4o-mini > lookup_policy x4 > llm:gpt-4o-mini"
    assert [(step.key, step.count) for step in four.path] == [("llm:gpt-4o-mini", 1), ("tool:lookup_policy", 4), ("llm:gpt-4o-mini", 1)]
    assert four.route_id != three.route_id
    assert four.tool_calls == 4


def test_route_ids_are_stable_hashes_and_family_rows_have_their_own():
    path = (PathStep("llm:gpt-4o-mini", "llm:gpt-4o-mini", 1), PathStep("tool:lookup_policy", "lookup_policy", 4))
    assert route_id("refund_request", path) == "df26302b4211"  # the same in every run, file and machine
    assert route_id("refund_request", path[:1]) != route_id("refund_request", path)
    assert family_id("refund_request") not in (route_id("refund_request", ()), route_id("refund_request", path))
    assert len(family_id("refund_request")) == 12


def test_traces_on_one_route_share_its_path_and_very_long_runs_are_computed_each_time():
    short = [trace_route(run(t, "f", ("llm", "m"), ("tool", "search"))) for t in "ab"]
    assert short[0].path is short[1].path  # one path tuple for every trace on the route
    steps = [("llm", "m"), ("tool", "search")] * 150
    long = [trace_route(run(t, "long", *steps)) for t in "ab"]
    assert len(long[0].path) == 300 and long[0].path == long[1].path and long[0].path is not long[1].path
    assert long[0].route_id == long[1].route_id == route_id("long", long[0].path)


def test_a_trace_without_tool_spans_takes_the_tools_its_llm_requested():
    trace = analyse(
        span("lookup", None, span_id="root", kind="agent", start=0, end=10_000_000, trace="req"),
        llm(trace="req", calls=[("lookup_policy", {"q": 1}), ("lookup_policy", {"q": 2})], finish=("tool_calls",), start=1000, end=2000),
    )
    steps = trace_steps(trace)
    assert [(step.key, step.executed) for step in steps] == [("llm:gpt-4o-mini", True), ("tool:lookup_policy", False), ("tool:lookup_policy", False)]
    route = trace_route(trace)
    assert route.path_text == "llm:gpt-4o-mini > lookup_policy x2"
    assert route.tool_calls == 0  # requested, never executed


def test_an_agent_comes_before_the_llm_call_it_starts_in_the_same_nanosecond():
    store = SpanStore()
    store.add(demo_spans())
    triage = next(a for a in Analyzer(store).all() if a.name == "triage_handoff")
    assert trace_route(triage).path_text == (
        "agent:triage_agent > llm:gpt-4.1 > handoff to billing_agent > agent:billing_agent > llm:gpt-4.1 > lookup_invoice > llm:gpt-4.1"
    )


def test_langgraph_fixtures_give_the_same_paths_from_both_instrumentors():
    turn = "agent:agent > llm:gpt-4o-mini > lookup_policy > "
    expected = {
        "vendor_exception": "agent:agent > llm:gpt-4o-mini > lookup_policy > agent:agent > llm:gpt-4o > compliance_review > agent:agent > llm:gpt-4o",
        "policy_loop": turn * 4 + "agent:agent > llm:gpt-4o-mini",
        "flaky_tool": "agent:agent > llm:gpt-4o-mini > flaky_search",
        "long_answer": "agent:agent > llm:gpt-4o-mini",
    }
    analyses = all_analyses(*(f"langgraph/{name}" for name in LANGGRAPH))
    assert {a.name: trace_route(a).path_text for a in analyses} == expected
    rows = book_of(analyses).stats()
    assert sorted((row.family, row.traces) for row in rows) == sorted((name, 2) for name in expected)  # one route each
    policy = next(row for row in rows if row.family == "policy_loop")
    assert (policy.loop_rate, policy.success_rate, policy.stop_problem_rate) == (1.0, 0.0, 1.0)
    flaky = next(row for row in rows if row.family == "flaky_tool")
    assert (flaky.tool_error_rate, flaky.timeout_rate) == (1.0, 1.0)  # TimeoutError from the tool


def test_agents_sdk_fixtures_give_sensible_paths_for_both_exports():
    otlp = {a.name: trace_route(a) for a in all_analyses("openai-agents/agents-openinference.otlp.jsonl")}
    native = {a.name: trace_route(a) for a in all_analyses("openai-agents/agents-native.jsonl")}
    model = "llm:gpt-4.1-2025-04-14"
    assert otlp["triage_handoff"].path_text == (
        f"agent:triage_agent > {model} > handoff:handoff to billing_agent > agent:billing_agent > {model} > lookup_invoice > {model}"
    )
    assert otlp["guardrail_trip"].path_text == "agent:refund_agent > agent:abuse_screen > llm:gpt-4.1-mini-2025-04-14"
    search = "llm:gpt-4o-mini > search_kb"
    assert otlp["max_turns"].path_text == native["max_turns"].path_text == "agent:kb_agent > " + " > ".join([search] * 5)
    assert otlp["max_turns"].route_id == native["max_turns"].route_id  # two exporters, one route
    # The native export's response spans carry no model: the step says so instead of dropping the call.
    assert native["triage_handoff"].path_text == (
        "agent:triage_agent > llm:? > handoff:handoff to billing_agent > agent:billing_agent > llm:? > lookup_invoice > llm:?"
    )
    assert native["triage_handoff"].models == () and otlp["triage_handoff"].models == ("gpt-4.1-2025-04-14",)
    assert otlp["max_turns"].loop and not otlp["max_turns"].success and otlp["triage_handoff"].success


# -- statistics against the reference ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_statistic_matches_a_naive_reference_over_a_generated_batch(seed):
    batch = generated_batch(seed)
    book = book_of(analysis for analysis, _ in batch)
    truths = [truth for _, truth in batch]
    by_family: dict[str, list[Truth]] = defaultdict(list)
    by_route: dict[tuple, list[Truth]] = defaultdict(list)
    for truth in truths:
        by_family[truth.family].append(truth)
        by_route[(truth.family, truth.path)].append(truth)

    rows = book.stats(BY_PATH)
    assert len(rows) == len(by_route) and len(book) == len(truths)
    expensive_seen = Counter()
    for row in rows:
        group = by_route[(row.family, tuple((s.key, s.label, s.count) for s in row.path))]
        assert set(book.trace_ids(row.route_id)) == {t.trace_id for t in group}
        expected = reference_row(group, len(by_family[row.family]))
        assert row_values(row, expected) == expected, row.path_text
        assert reason_kinds(row.expensive_reasons) == reference_expensive(group, by_family[row.family]), row.path_text
        assert row.expensive == bool(row.expensive_reasons) and row.paths == 1 and row.by == BY_PATH
        expensive_seen[row.expensive] += 1
    assert expensive_seen[True] and expensive_seen[False]  # the batch exercises both outcomes

    families = book.stats(BY_FAMILY)
    assert [row.family for row in families] == sorted(by_family)
    for row in families:
        group = by_family[row.family]
        expected = reference_row(group, len(group))
        assert row_values(row, expected) == expected, row.family
        assert row.paths == len({t.path for t in group}) and row.path is None and row.route_id == family_id(row.family)


def test_rows_are_sorted_by_family_then_traces_then_path():
    rows = book_of(analysis for analysis, _ in generated_batch(4)).stats()
    keys = [(row.family, -row.traces, row.label) for row in rows]
    assert keys == sorted(keys)


@pytest.mark.parametrize("seed", range(5))
def test_nearest_rank_matches_the_definition_on_random_data(seed):
    rng = random.Random(seed)
    for _ in range(200):
        values = sorted(rng.choice([rng.randint(0, 20), rng.random()]) for _ in range(rng.randint(1, 60)))
        for p in (0, 1, 7, 25, 33.3, 50, 90, 95, 99, 99.9, 100):
            assert nearest_rank(values, p) == naive_percentile(values, p), (values, p)


def test_nearest_rank_examples_and_empty():
    assert nearest_rank([1, 2, 3, 4], 50) == 2
    assert nearest_rank(list(range(1, 101)), 7) == 7  # 0.07 * 100 in floats is 7.000000000000001
    assert nearest_rank([5.0], 99) == 5.0
    assert nearest_rank([], 95) is None


@pytest.mark.parametrize("seed", range(5))
def test_percentile_of_the_rest_matches_the_difference_built_by_hand(seed):
    rng = random.Random(seed)
    for _ in range(300):
        part = [float(rng.randint(0, 15)) for _ in range(rng.randint(0, 25))]
        rest = [float(rng.randint(0, 15)) for _ in range(rng.randint(0, 25))]
        full = sorted(part + rest)
        for p in (50, 95, 99, 7, 100):
            assert _percentile_of_rest(full, sorted(part), p) == naive_percentile(rest, p), (part, rest, p)


def test_numbers_that_cannot_be_measured_are_none_not_zero():
    book = RouteBook()
    book.add_route(made_route("a", "summarize", ["llm:in-house"], cost=None))
    book.add_route(made_route("b", "summarize", ["llm:in-house"], cost=None, duration_ms=None))
    (row,) = book.stats()
    assert (row.cost_mean_usd, row.cost_p95_usd, row.cost_traces) == (None, None, 0)
    assert (row.tokens_mean, row.tokens_p95) == (None, None)
    assert (row.tool_error_rate, row.timeout_rate, row.tool_calls_per_trace) == (None, None, 0.0)
    assert row.latency_p50_ms == row.latency_p99_ms == 100.0  # over the one trace with a duration
    assert (row.loop_rate, row.success_rate, row.retries_per_trace) == (0.0, 1.0, 0.0)


def test_models_are_listed_most_used_first_ties_by_name_whatever_the_arrival_order():
    routes = [
        made_route("a", "f", ["llm:x"], models=("gpt-4o", "gpt-4o-mini")),
        made_route("b", "f", ["llm:x"], models=("gpt-4o-mini", "claude")),
    ]
    for ordered in (routes, routes[::-1]):
        book = RouteBook()
        for route in ordered:
            book.add_route(route)
        (row,) = book.stats()
        assert row.models == ["gpt-4o-mini", "claude", "gpt-4o"]


def test_trace_route_reads_the_trace_facts():
    spans = [
        span("order_status", None, span_id="root", kind="agent", trace="t", start=0, end=3_000_000_000, status=ERROR),
        llm(trace="t", tokens=Tokens(300, 20, 320), cost_usd=0.25, start=1000, end=2000, calls=[("get_order", {"id": 1})], finish=("tool_calls",)),
        tool("get_order", {"id": 1}, trace="t", start=3000, end=4000, status=ERROR, status_message="upstream timed out", result=None),
        tool("get_order", {"id": 1}, trace="t", start=5000, end=6000, status=ERROR, status_message="HTTP 500"),
        tool("get_order", {"id": 1}, trace="t", start=7000, end=8000),
        llm(trace="t", tokens=Tokens(400, 30, 430), cost_usd=0.5, finish=("length",), start=9000, end=10_000),
    ]
    route = trace_route(analyse(*spans))
    assert route.path_text == "llm:gpt-4o-mini > get_order x3 > llm:gpt-4o-mini"
    assert (route.duration_ms, route.tokens, route.cost_usd, route.start_ns) == (3000.0, 750, 0.75, 0)
    assert (route.tool_calls, route.tool_errors, route.timeouts, route.retries) == (3, 2, 1, 2)
    assert (route.success, route.stop_problem, route.loop, route.models) == (False, True, True, ("gpt-4o-mini",))


def test_timeouts_are_recognised_by_status_code_and_exception_type():
    def one_tool(message, **fields):
        spans = [
            span("f", None, span_id="root", kind="agent", trace="t", start=0, end=10_000_000),
            tool("fetch", {}, trace="t", start=1000, end=2000, status=ERROR, status_message=message, **fields),
        ]
        return trace_route(analyse(*spans)).timeouts

    assert one_tool("failed", attributes={"http.status_code": "504"}) == 1
    assert one_tool("failed", attributes={"error.type": "ReadTimeout"}) == 1
    assert one_tool("deadline exceeded") == 1
    assert one_tool("HTTP 500 internal error", attributes={"http.status_code": 500}) == 0


def test_a_route_is_taken_without_reading_payloads_back(tmp_path):
    """Timeouts are told from events and attributes when the trace is analysed, while its spans hold them: the
    routes of traces whose payloads went back to the file (a worker's traces, adopted) read nothing back."""
    path = tmp_path / "demo.jsonl"
    write_demo_file(str(path))
    in_memory = {route.trace_id: route for route in map(trace_route, all_analyses_of(path, evict=False))}
    analyses = all_analyses_of(path, evict=True)
    assert all(span.payload_evicted for analysis in analyses for span in analysis.tree.ordered)
    payloads.forget()
    reads = payloads.stats.reads
    routes = [trace_route(analysis) for analysis in analyses]
    assert payloads.stats.reads == reads
    assert sum(route.tool_errors for route in routes) > 0  # failed tool calls were looked at
    assert {route.trace_id: route for route in routes} == in_memory


def all_analyses_of(path, evict: bool) -> list:
    store = SpanStore()
    sink = AnalysingSink(store, evict=evict)
    load_paths([str(path)], sink)
    return sink.analyses()


# -- the expensive branch --------------------------------------------------------------------------------------------


def family_book(pricey_cost: float, pricey_ms: float, *, pricey: int = 3, cheap_cost: float | None = 0.01) -> RouteBook:
    """refund_request: 10 cheap 100 ms runs on the main path, `pricey` runs on an escalation branch."""
    book = RouteBook()
    for index in range(10):
        book.add_route(made_route(f"cheap{index}", "refund_request", ["tool:lookup_order"], cost=cheap_cost, duration_ms=100.0))
    for index in range(pricey):
        book.add_route(made_route(f"pricey{index}", "refund_request", ["tool:lookup_order", "tool:escalate"], cost=pricey_cost, duration_ms=pricey_ms))
    return book


def branch(book: RouteBook):
    return next(row for row in book.stats() if row.path_text == "lookup_order > escalate")


def test_a_branch_costing_twice_the_rest_median_is_expensive():
    book = family_book(0.02, 100.0)
    row = branch(book)
    assert row.expensive
    assert row.expensive_reasons == ["cost $0.0200/trace is 2.0x the rest of refund_request (median $0.0100)"]
    main = next(r for r in book.stats() if r.path_text == "lookup_order")
    assert not main.expensive and main.expensive_reasons == []


def test_a_branch_just_under_twice_the_cost_is_not():
    assert not branch(family_book(0.0199, 100.0)).expensive


def test_a_branch_with_twice_the_rest_p95_latency_is_expensive_and_just_under_is_not():
    row = branch(family_book(0.01, 200.0))
    assert row.expensive_reasons == ["p95 latency 200ms is 2.0x the rest of refund_request (p95 100ms)"]
    assert not branch(family_book(0.01, 199.0)).expensive


def test_both_variants_are_reported_and_named_in_the_family_row():
    book = family_book(0.05, 500.0)
    assert reason_kinds(branch(book).expensive_reasons) == {"cost", "latency"}
    (family,) = book.stats(BY_FAMILY)
    assert family.expensive and family.paths == 2 and family.label == "2 paths"
    assert family.expensive_reasons == [f"lookup_order > escalate: {reason}" for reason in branch(book).expensive_reasons]


def test_a_single_path_family_has_no_expensive_branch():
    book = RouteBook()
    for index in range(5):
        book.add_route(made_route(f"t{index}", "lonely", ["tool:x"], cost=1.0 * (index + 1), duration_ms=1000.0 * (index + 1)))
    (row,) = book.stats()
    assert not row.expensive and row.expensive_reasons == []
    (family,) = book.stats(BY_FAMILY)
    assert not family.expensive and family.label == "1 path"


def test_the_cost_variant_needs_known_costs_on_both_sides():
    assert not branch(family_book(0.05, 100.0, cheap_cost=None)).expensive  # the rest has no priced run
    assert not branch(family_book(0.0, 100.0, cheap_cost=0.0)).expensive  # free is never expensive


# -- incremental upkeep ------------------------------------------------------------------------------------------------


def closing(trace: str, family: str, tools: list[str], *, end: int | None):
    """The spans of a run whose root is still open (`end=None`) or finished."""
    root = span(family, None, span_id=f"{trace}-root", kind="agent", trace=trace, start=0, end=end or 1)
    if end is None:
        root.end_ns = None
    calls = [tool(name, {"n": index}, parent=f"{trace}-root", trace=trace, span_id=f"{trace}-{index}", start=1000 * (index + 1), end=1000 * (index + 1) + 500)
             for index, name in enumerate(tools)]
    return [root, *calls]


def test_in_progress_traces_are_out_until_they_complete_and_an_update_replaces_the_old_route():
    index = TraceIndex()
    index.add(closing("t", "refund_request", ["lookup_order"], end=None))
    assert len(index.routes) == 0 and index.routes.stats() == []
    index.add(closing("t", "refund_request", ["lookup_order"], end=5_000_000))
    (row,) = index.routes.stats()
    assert (row.path_text, row.traces, row.latency_p50_ms) == ("lookup_order", 1, 5.0)
    index.add(closing("t", "refund_request", ["lookup_order", "issue_refund"], end=9_000_000))  # more spans arrived
    (row,) = index.routes.stats()
    assert (row.path_text, row.traces, row.latency_p50_ms) == ("lookup_order > issue_refund", 1, 9.0)
    assert index.routes.trace_ids(route_id("refund_request", (PathStep("tool:lookup_order", "lookup_order", 1),))) == []
    assert len(index.routes) == 1


def test_a_trace_reopened_in_progress_leaves_its_route():
    book = RouteBook()
    store = SpanStore()
    analyzer = Analyzer(store)
    store.add(closing("t", "f", ["a"], end=5_000_000))
    assert book.update(analyzer.get("t"))
    store.add(closing("t", "f", ["a"], end=None))  # the root arrives again, open (a producer re-sent it)
    assert analyzer.get("t").in_progress
    assert book.update(analyzer.get("t")) and len(book) == 0 and book.stats() == []


def test_evicted_traces_are_removed():
    index = TraceIndex(SpanStore(max_spans=4))
    index.add(closing("old", "f", ["a", "b"], end=5_000_000))
    assert len(index.routes) == 1
    index.add(closing("new", "f", ["a", "b"], end=6_000_000))  # 6 spans > 4: the old trace goes
    assert index.store.evicted_traces == 1
    (row,) = index.routes.stats()
    assert row.traces == 1 and index.routes.trace_ids(row.route_id) == ["new"]
    assert index.routes.route_of("old") is None
    assert not index.routes.remove("old")  # already gone: nothing changes


def test_stale_versions_are_ignored():
    store = SpanStore()
    analyzer = Analyzer(store)
    store.add(closing("t", "f", ["a"], end=5_000_000))
    old = analyzer.get("t")
    store.add(closing("t", "f", ["a", "b"], end=7_000_000))
    new = analyzer.get("t")
    book = RouteBook()
    assert book.update(new)
    generation = book.generation
    assert not book.update(old)
    assert book.generation == generation and book.route_of("t").path_text == "a > b"
    assert not book.update(new)  # the same route again is no change either


def counting_rebuilds(monkeypatch) -> list[tuple[str, int]]:
    """Record every summary built from scratch: ("route", traces) or ("family", traces)."""
    built: list[tuple[str, int]] = []
    summarize, merge = routes_module._summarize, routes_module._merge

    def counting_summarize(routes):
        built.append(("route", len(routes)))
        return summarize(routes)

    def counting_merge(parts):
        built.append(("family", sum(part.traces for part in parts)))
        return merge(parts)

    monkeypatch.setattr(routes_module, "_summarize", counting_summarize)
    monkeypatch.setattr(routes_module, "_merge", counting_merge)
    return built


def fresh_stats(book: RouteBook, by: str) -> list:
    """The stats of a new book holding the same routes: what incremental upkeep must equal."""
    fresh = RouteBook()
    for trace_id in list(book._routes):
        fresh.add_route(book.route_of(trace_id))
    return fresh.stats(by)


def test_a_few_changes_are_folded_into_the_kept_summaries_and_many_rebuild_them(monkeypatch):
    batch = generated_batch(5, traces=300)
    book = book_of(analysis for analysis, _ in batch)
    before = {row.route_id: row for row in book.stats()}
    built = counting_rebuilds(monkeypatch)
    assert book.stats() and built == []  # nothing changed: nothing is rebuilt
    analysis, truth = batch[0]
    book.remove(truth.trace_id)
    book.add_route(dataclasses.replace(trace_route(batch[1][0]), duration_ms=123456.0))  # another trace, much slower
    after = {row.route_id: row for row in book.stats()}
    assert built == []  # folded: no summary re-read its traces
    assert list(after.values()) == fresh_stats(book, BY_PATH)
    changed_families = {truth.family, batch[1][1].family}
    unchanged = [rid for rid, row in before.items() if row.family not in changed_families]
    assert unchanged and all(after[rid] == before[rid] for rid in unchanged)
    biggest = Counter(t.family for _, t in batch).most_common(1)[0][0]
    churned = book.trace_ids(family_id(biggest), by=BY_FAMILY)
    assert len(churned) > routes_module._FOLD_LIMIT + 10
    built.clear()
    for trace_id in churned[10:]:  # more changes than folding pays for: the family's summary is rebuilt instead
        book.remove(trace_id)
    rows = book.stats(BY_FAMILY)
    assert ("family", 10) in built
    assert rows == fresh_stats(book, BY_FAMILY)


@pytest.mark.parametrize("seed", range(3))
def test_incremental_upkeep_equals_a_fresh_book_after_any_changes(seed):
    rng = random.Random(seed)
    batch = generated_batch(10 + seed, traces=200)
    routes = [trace_route(analysis) for analysis, _ in batch]
    book = RouteBook()
    for step in range(600):
        route = rng.choice(routes)
        action = rng.random()
        if action < 0.5:
            book.add_route(route)
        elif action < 0.8:  # the same trace, slower and dearer: a new version of its numbers
            book.add_route(dataclasses.replace(route, duration_ms=route.duration_ms * rng.uniform(0.5, 3), cost_usd=rng.choice([None, 0.5, route.cost_usd])))
        elif action < 0.9:
            book.add_route(dataclasses.replace(route, route_id=routes[0].route_id, path=routes[0].path, family=routes[0].family))  # moved
        else:
            book.remove(route.trace_id)
        if step % rng.choice([1, 7, 40]) == 0:
            by = rng.choice([BY_PATH, BY_FAMILY])
            assert book.stats(by) == fresh_stats(book, by), step


def test_generation_moves_only_when_a_number_changes():
    book = RouteBook()
    assert book.generation == 0
    assert book.add_route(made_route("a", "f", ["tool:x"]))
    assert not book.add_route(made_route("a", "f", ["tool:x"]))
    assert book.generation == 1
    assert book.remove("a") and book.generation == 2 and len(book) == 0


# -- listing traces and the JSON row -----------------------------------------------------------------------------------


def test_trace_ids_are_newest_first_ties_by_id_and_family_rows_list_every_path():
    book = RouteBook()
    book.add_route(made_route("b", "f", ["tool:x"], start_ns=200))
    book.add_route(made_route("a", "f", ["tool:x"], start_ns=200))
    book.add_route(made_route("c", "f", ["tool:x"], start_ns=300))
    book.add_route(made_route("d", "f", ["tool:x"], start_ns=None))
    book.add_route(made_route("e", "f", ["tool:y"], start_ns=250))
    book.add_route(made_route("z", "g", ["tool:x"], start_ns=999))
    x = route_id("f", (PathStep("tool:x", "x", 1),))
    assert book.trace_ids(x) == ["c", "a", "b", "d"]
    assert book.trace_ids(family_id("f"), by=BY_FAMILY) == ["c", "e", "a", "b", "d"]
    assert book.trace_ids("nope") == [] and book.trace_ids(family_id("nope"), by=BY_FAMILY) == []
    with pytest.raises(ValueError, match="by must be one of path, family"):
        book.trace_ids(x, by="model")


def test_to_json_has_the_documented_shape():
    book = RouteBook()
    book.add_route(made_route("a", "refund_request", ["tool:lookup_order"], duration_ms=120.12345, cost=0.0123456789, tokens=1000,
                              tool_calls=2, tool_errors=1, timeouts=1, retries=1, models=("gpt-4o",)))
    book.add_route(made_route("b", "refund_request", ["tool:lookup_order"], duration_ms=80.0, cost=None, tokens=1501,
                              tool_calls=1, loop=True, stop_problem=True, success=False, models=("gpt-4o",)))
    book.add_route(made_route("c", "refund_request", ["tool:lookup_order", "tool:escalate"], duration_ms=100.0, cost=0.01))
    row = next(r for r in book.stats() if r.traces == 2)
    assert row.to_json() == {
        "route_id": route_id("refund_request", row.path),
        "family": "refund_request",
        "path": [{"key": "tool:lookup_order", "label": "lookup_order", "count": 1}],
        "path_text": "lookup_order",
        "paths": 1,
        "traces": 2,
        "share": 0.6667,
        "success_rate": 0.5,
        "latency_ms": {"p50": 80.0, "p95": 120.123, "p99": 120.123},
        "tokens_per_trace": {"mean": 1250.5, "p95": 1501},
        "cost_usd_per_trace": {"mean": 0.01234568, "p95": 0.01234568},
        "cost_traces": 1,
        "retries_per_trace": 0.5,
        "tool_calls_per_trace": 1.5,
        "tool_error_rate": 0.3333,
        "timeout_rate": 0.3333,
        "loop_rate": 0.5,
        "stop_problem_rate": 0.5,
        "models": ["gpt-4o"],
        "expensive": False,
        "expensive_reasons": [],
    }
    (family,) = book.stats(BY_FAMILY)
    shape = family.to_json()
    assert shape["path"] is None and shape["path_text"] is None and shape["paths"] == 2 and shape["share"] == 1.0
    assert shape["route_id"] == family_id("refund_request") and set(shape) == set(row.to_json())


def test_collapse_keeps_labels_and_counts():
    assert collapse([]) == ()
    steps = trace_steps(run("t", "f", ("tool", "a"), ("tool", "a"), ("llm", "m"), ("tool", "a")))
    assert [str(step) for step in collapse(steps)] == ["a x2", "llm:m", "a"]
