"""Bulk loads pause the collector and, when asked, freeze what they built (orchtui/bulk.py)."""

from __future__ import annotations

import gc

import pytest

from orchtui.bulk import bulk_load
from orchtui.demo import write_demo_file
from orchtui.sources.files import FileSource
from orchtui.store import SpanStore


@pytest.fixture(autouse=True)
def _collector_as_it_was():
    gc.unfreeze()
    was = gc.isenabled()
    gc.enable()
    yield
    gc.unfreeze()
    (gc.enable if was else gc.disable)()


def test_the_collector_is_paused_inside_and_runs_again_after_the_outermost_block():
    with bulk_load(freeze=False):
        assert not gc.isenabled()
        with bulk_load(freeze=False):
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer load still runs
    assert gc.isenabled() and gc.get_freeze_count() == 0


@pytest.mark.parametrize(("freeze", "frozen"), [(True, True), (False, False), (lambda: True, True), (lambda: False, False)])
def test_what_was_built_is_frozen_when_asked_then(freeze, frozen):
    asked = []

    def answer() -> bool:
        asked.append(True)
        return freeze()

    with bulk_load(answer if callable(freeze) else freeze):
        kept = [[index] for index in range(1000)]
        assert not asked  # asked when the block ends, not before
    assert (gc.get_freeze_count() >= len(kept)) is frozen
    assert asked == ([True] if callable(freeze) else [])


class StopsAtFirstBatch:
    """A sink whose first batch stops the source reading into it: the app quitting mid-load."""

    def __init__(self, source: FileSource) -> None:
        self.source, self.store = source, SpanStore()

    def add(self, spans) -> set[str]:
        self.source.stop()  # from the source's own thread: sets the flag, does not wait
        return self.store.add(spans)

    def add_errors(self, errors, skipped=None) -> None:
        self.store.add_errors(errors, skipped)


def test_a_read_stopped_part_way_is_frozen_not_collected(tmp_path):
    path = tmp_path / "demo.jsonl"
    write_demo_file(str(path))
    source = FileSource([str(path), str(path)])
    source.run(StopsAtFirstBatch(source))
    assert gc.get_freeze_count() > 0 and gc.isenabled()


def test_a_read_to_the_end_is_left_to_the_collector(tmp_path):
    path = tmp_path / "demo.jsonl"
    write_demo_file(str(path))
    source = FileSource([str(path)])
    sink = StopsAtFirstBatch(source)
    sink.add = sink.store.add  # never stops
    source.run(sink)
    assert sink.store.span_count and gc.get_freeze_count() == 0 and gc.isenabled()
