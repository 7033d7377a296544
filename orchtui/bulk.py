"""Building a large, long-lived heap without the cyclic garbage collector re-scanning it: for headless commands.

Loading a trace file allocates millions of objects that all stay alive (spans, their attributes, analyses). The
collector runs a full pass each time the long-lived heap grows by a quarter, and every pass walks the whole heap:
measured on 100k spans, a third of ingest time went to collections that freed nothing. During a bulk load the
collector is paused, and afterwards everything loaded is frozen (moved out of the collector's view), so later
collections only look at objects made since. Reference counting still frees everything that is not in a cycle;
the loaders make few cycles (a few hundred objects over every fixture).

The TUI loads with `freeze=False`: the collector is global and the UI thread makes cyclic garbage (widgets,
render caches) all the time; frozen, the garbage made during a minute-long load would be kept for good. Unfrozen,
it is collected by the first pass after the load, and the load still runs without passes (a 1M-span open: fully
loaded in 76 s paused, 164 s with the collector running; peak RSS 2.0x and 1.9x the file). A load stopped
because the app quits is frozen all the same: the first pass over a half-read million spans held the quit for a
second, and nothing is left to collect garbage for.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0  # bulk loads in progress, on any thread: the collector is global
_collector_was_enabled = True


@contextmanager
def bulk_load(freeze: bool | Callable[[], bool] = True) -> Iterator[None]:
    """Pause the collector for the block (nestable, thread-safe); when the last block ends, freeze what was built
    (`freeze`, or what it answers then) and let the collector run again."""
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
                if freeze() if callable(freeze) else freeze:
                    gc.freeze()
                if _collector_was_enabled:
                    gc.enable()
