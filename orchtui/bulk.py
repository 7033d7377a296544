"""Building a large, long-lived heap without the cyclic garbage collector re-scanning it.

Loading a trace file allocates millions of objects that all stay alive (spans, their attributes, analyses). The
collector runs a full pass each time the long-lived heap grows by a quarter, and every pass walks the whole heap:
measured on 100k spans, a third of ingest time went to collections that freed nothing. During a bulk load the
collector is paused, and afterwards everything loaded is frozen (moved out of the collector's view), so later
collections only look at objects made since. Reference counting still frees everything that is not in a cycle;
the loaders make few cycles (a few hundred objects over every fixture).

A file read in the TUI is frozen too, when it ends (or is stopped because the app quits). Unfrozen, the
collector's first pass after the load walked everything loaded while holding the interpreter lock: on 1M spans a
gen-0 then a gen-1 pass froze the screen for 2.0 s, to free 100k objects of cyclic garbage the UI thread had made
meanwhile (strips, segments and compositor maps of the frames painted while loading). The freeze keeps that
garbage instead (after 100k spans: 84k objects, 9 MB by tracemalloc), and the process holds no more for it: the
app's RSS after the 1M-span load was 844 MB frozen, 845 MB collected, since memory freed by a collection stays
with the allocator. The longest stall of the app's event loop while loading went from 2,076 ms to 80 ms, and later
passes never walk the loaded heap again, whatever a live source adds.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0  # bulk loads in progress, on any thread: the collector is global
_collector_was_enabled = True


@contextmanager
def bulk_load() -> Iterator[None]:
    """Pause the collector for the block (nestable, thread-safe); when the last block ends, freeze what was built
    and let the collector run again."""
    global _active, _collector_was_enabled
    with _lock:
        if _active == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.freeze()
                if _collector_was_enabled:
                    gc.enable()


def sweep_young() -> None:
    """Free the cyclic garbage made since the last freeze, then freeze what survived. During a bulk load nothing
    else frees cycles, and work done on the loaded data while it loads (`eval`'s evaluators, orchtui/evaluating.py)
    makes some: an HTTP exchange with a judge left ~32 KB each, 400 MB over 1,580 traces. The pass walks only what
    was made since the last freeze, never the heap already loaded."""
    gc.collect(0)
    gc.freeze()


def freeze_after_full_collections() -> None:
    """For the app, whose heap grows for as long as it follows live sources: after each full collection, what
    survived it is frozen, so the next full pass walks only what was made since. Unfrozen, a full pass walks every
    span held: following 600k spans (bench/live_collector.py), the longest took 815 ms, a frozen screen, and they
    took 5.4 s in all; frozen after each, 13 ms and 1.5 s, with the same memory (the index and its analyses hold no
    cycles: what they drop is freed by reference counting, frozen or not). Installed once per process."""
    if _freeze_after_full not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full)


def _freeze_after_full(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()
