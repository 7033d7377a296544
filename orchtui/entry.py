"""The `orchtui` console script: the command line, then a quick way out.

A viewer that has read a million spans holds tens of millions of objects, and Python's own exit frees them one by
one after a last collection over all of them: quitting `orchtui open` on 1M spans took 4.8 s after the screen
was gone (0.3 s this way). So once a command has returned, what Python's exit does that matters is done (other
threads joined, exit handlers run: the price cache is saved, output flushed) and the process ends there, without
taking the heap apart. `main()` itself returns normally, for tests and callers in the same process.
"""

from __future__ import annotations

import atexit
import os
import sys

from .cli import main


def run() -> None:
    status: list[int] = []
    atexit.register(_end, status)  # registered first, so run last: after every handler registered during the command
    status.append(main())
    sys.exit(status[0])


def _end(status: list[int]) -> None:
    if not status:  # the command did not return (argparse's --help exits by itself): Python's own exit goes on
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, a stream already closed: nothing left to say
            pass
    os._exit(status[0])
