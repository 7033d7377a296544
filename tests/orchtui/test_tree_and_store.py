"""Trace assembly: any arrival order, orphans, duplicates, parent cycles, very deep trees, eviction."""

from __future__ import annotations

import random
import threading

from orchtui.analysis.tree import PLACEHOLDER_ID, build_tree
from orchtui.store import SpanStore
from tests.spans import analyse, root, span


def chain(depth: int, trace: str = "deep") -> list:
    spans = [span("level0", None, span_id="d0", trace=trace, start=0, end=depth * 10 + 10)]
    for level in range(1, depth):
        spans.append(span(f"level{level}", f"d{level - 1}", span_id=f"d{level}", trace=trace, start=level, end=depth * 10 - level))
    return spans


def test_children_before_parents_in_many_batches_give_the_same_tree():
    spans = [root(), span("a", "root", span_id="a"), span("b", "a", span_id="b"), span("c", "root", span_id="c")]
    expected = [(node, depth) for node, depth in build_tree(spans).walk()]
    for seed in range(5):
        shuffled = spans[:]
        random.Random(seed).shuffle(shuffled)
        store = SpanStore()
        for item in shuffled:  # one span per batch, children first half of the time
            store.add([item])
        snapshot = store.snapshot("t1")
        assert [(n, d) for n, d in build_tree(snapshot.spans).walk()] == expected
    assert expected == [("root", 0), ("a", 1), ("b", 2), ("c", 1)]


def test_orphans_hang_under_a_placeholder_and_are_reported():
    analysis = analyse(root(), span("lost child", "never-arrived", span_id="o1"), span("grandchild", "o1", span_id="o2"))
    tree = analysis.tree
    assert tree.orphans == ["o1"]
    assert list(tree.walk()) == [("root", 0), (PLACEHOLDER_ID, 0), ("o1", 1), ("o2", 2)]
    (finding,) = [f for f in analysis.findings if f.code == "trace.orphan_spans"]
    assert finding.span_id == "o1" and "1 span" in finding.message


def test_a_parent_cycle_is_broken_without_hanging():
    spans = [root(), span("x", "z", span_id="x"), span("y", "x", span_id="y"), span("z", "y", span_id="z"), span("self", "self", span_id="self")]
    analysis = analyse(*spans)
    walked = [node for node, _ in analysis.tree.walk()]
    assert sorted(walked) == sorted(["root", PLACEHOLDER_ID, "x", "y", "z", "self"])
    assert len(walked) == len(set(walked))  # each span exactly once
    assert "trace.parent_cycle" in {f.code for f in analysis.findings}


def test_ten_thousand_levels_deep_without_recursion():
    spans = chain(10_000)
    random.Random(1).shuffle(spans)
    analysis = analyse(*spans)
    walked = list(analysis.tree.walk())
    assert len(walked) == 10_000
    assert walked[-1] == ("d9999", 9999)
    assert analysis.tree.depth_of("d9999") == 9999
    assert analysis.findings == []


def test_duplicate_span_ids_keep_the_newest_copy_and_count_it():
    store = SpanStore()
    open_span = span("work", None, span_id="w", trace="dup", start=5, end=None)
    open_span.end_ns = None
    store.add([open_span])
    first_version = store.version("dup")
    closed = span("work", None, span_id="w", trace="dup", start=5, end=50)
    store.add([closed])
    snapshot = store.snapshot("dup")
    assert snapshot.spans == (closed,)
    assert snapshot.duplicates == 1
    assert store.span_count == 1
    assert store.version("dup") > first_version


def test_a_snapshot_and_its_tree_keep_their_spans_when_the_trace_changes_afterwards():
    store = SpanStore()
    store.add([span("root", None, span_id="r", trace="T", start=0, end=10)])
    first = store.snapshot("T")
    tree = build_tree(first.spans, first.by_id)
    assert tree.spans is first.by_id  # one id index for the store and the analysed tree, not two
    store.add([span("late", "r", span_id="l", trace="T", start=1, end=2)])
    assert list(first.by_id) == list(tree.spans) == ["r"]
    assert tree.children == {}
    second = store.snapshot("T")
    assert list(second.by_id) == ["r", "l"]
    assert build_tree(second.spans, second.by_id).children == {"r": ("l",)}


def test_versions_change_only_for_traces_that_changed():
    store = SpanStore()
    changed = store.add([span("a", None, trace="A"), span("b", None, trace="B")])
    assert changed == {"A", "B"}
    version_b = store.version("B")
    assert store.add([span("a2", None, trace="A")]) == {"A"}
    assert store.version("B") == version_b


def test_eviction_drops_whole_least_recent_traces_and_counts_them():
    store = SpanStore(max_spans=4)
    store.add([span("old1", None, trace="old"), span("old2", None, trace="old")])
    store.add([span("mid", None, trace="mid")])
    store.add([span("new1", None, trace="new"), span("new2", None, trace="new")])
    assert set(store.trace_ids()) == {"mid", "new"}
    assert (store.evicted_traces, store.evicted_spans, store.span_count) == (1, 2, 3)


def test_concurrent_writers_lose_nothing():
    store = SpanStore()

    def writer(worker: int) -> None:
        for batch in range(50):
            store.add([span(f"w{worker}", None, trace=f"t{worker}-{batch % 5}", span_id=f"{worker}-{batch}-{i}") for i in range(20)])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.span_count == 4 * 50 * 20
    assert len(store) == 4 * 5
