"""Building a large, long-lived heap without the cyclic garbage collector re-scanning it: for headless commands.

Loading a trace file allocates millions of objects that all stay alive (spans, their attributes, analyses). The
collector runs a full pass each time the long-lived heap grows by a quarter, and every pass walks the whole heap:
measured on 100k spans, a third of ingest time went to collections that freed nothing. During a bulk load the
collector is paused, and afterwards everything loaded is frozen (moved out of the collector's view), so later
collections only look at objects made since. Reference counting still frees everything that is not in a cycle;
the loaders make few cycles (a few hundred objects over every fixture).

Not for the TUI: the collector is global, and the UI thread makes cyclic garbage (widgets, render caches) all
the time; paused for a minute-long load and then frozen, that garbage would be kept for good (measured: peak RSS
of a 1M-span open went from 1.8x to 2.0x the file).
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
    """Pause the collector for the block (nestable, thread-safe); freeze what was built when the last block ends."""
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
