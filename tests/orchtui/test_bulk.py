"""Bulk loads pause the collector and, when asked, freeze what they built (orchtui/bulk.py)."""

from __future__ import annotations

import gc

import pytest

from orchtui import cli
from orchtui.bulk import _freeze_after_full, bulk_load, freeze_after_full_collections
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


def test_the_collector_is_paused_inside_and_what_was_built_frozen_after_the_outermost_block():
    with bulk_load():
        assert not gc.isenabled()
        with bulk_load():
            kept = [[index] for index in range(1000)]
            assert not gc.isenabled()
        assert not gc.isenabled() and gc.get_freeze_count() == 0  # the outer load still runs
    assert gc.isenabled() and gc.get_freeze_count() >= len(kept)


def test_a_paused_collector_stays_paused():
    gc.disable()
    with bulk_load():
        pass
    assert not gc.isenabled()


class StopsAtFirstBatch:
    """A sink whose first batch stops the source reading into it: the app quitting mid-load."""

    def __init__(self, source: FileSource) -> None:
        self.source, self.store = source, SpanStore()

    def add(self, spans) -> set[str]:
        self.source.stop()  # from the source's own thread: sets the flag, does not wait
        return self.store.add(spans)

    def add_errors(self, errors, skipped=None) -> None:
        self.store.add_errors(errors, skipped)


@pytest.mark.parametrize("stopped", [False, True], ids=["read to the end", "stopped part way"])
def test_a_file_read_is_frozen_for_the_app_too(tmp_path, stopped):
    """No collection pass walks what the app read, at its end (the screen froze for 2 s on 1M spans) or a quit."""
    path = tmp_path / "demo.jsonl"
    write_demo_file(str(path))
    source = FileSource([str(path), str(path)])
    sink = StopsAtFirstBatch(source)
    if not stopped:
        sink.add = sink.store.add
    source.run(sink)
    assert sink.store.span_count and gc.get_freeze_count() > 0 and gc.isenabled()


def test_what_survives_a_full_collection_is_frozen_once_installed():
    gc.collect()
    assert gc.get_freeze_count() == 0  # not before
    freeze_after_full_collections()
    freeze_after_full_collections()
    assert gc.callbacks.count(_freeze_after_full) == 1
    kept = [[index] for index in range(1000)]
    gc.collect(1)
    assert gc.get_freeze_count() == 0  # a younger pass freezes nothing
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)


def test_the_app_runs_with_full_collections_freezing(monkeypatch):
    import tui.app

    seen = []

    class Stub:
        def run(self) -> None:
            seen.append(_freeze_after_full in gc.callbacks)

    monkeypatch.setattr(tui.app, "make_app", lambda *args, **options: Stub())
    assert cli.main(["demo", "--seconds", "0"]) == cli.EXIT_OK
    assert seen == [True]
