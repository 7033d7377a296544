"""The collector's pauses while the app follows live spans: with and without freezing after full collections.

A live source (`orchtui tail`: a followed file, the OTLP receiver, a polled store) adds spans for as long as the
app runs, with the cyclic garbage collector running, since the UI thread makes garbage all the time. Every full
collection walks every object still held, so its pause grows with the spans held, and it holds the interpreter
lock while it runs: the screen cannot repaint. The app freezes what survives each full collection
(orchtui/bulk.py `freeze_after_full_collections`), so the next full pass walks only what was made since.

Generates `--spans` spans of the ingest benchmark's agent traces, then, in a fresh process for each (the collector
is process-wide), feeds them batch by batch into the app's live index as a live source would (payloads back to the
file after each batch, as the app's sink does with a followed file) and reports the longest full collection, the
collector's total time and the resident memory at the end:

  baseline  the collector as Python leaves it
  orchtui   with full collections freezing what survived them

    python bench/live_collector.py [--spans 600000]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def follow(path: str, freeze: bool) -> dict[str, float]:
    """One process's run: the spans of `path` into a TraceIndex, the collector timed."""
    from orchtui.bulk import freeze_after_full_collections
    from orchtui.live import TraceIndex
    from parsers.read import iter_read_path

    pauses: list[tuple[int, float]] = []
    started: list[float] = []

    def timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        else:
            pauses.append((info["generation"], time.perf_counter() - started.pop()))

    gc.callbacks.append(timer)
    if freeze:
        freeze_after_full_collections()
    index = TraceIndex()
    began = time.perf_counter()
    spans = 0
    for result, _ in iter_read_path(path):
        index.add(result.spans)
        for span in result.spans:
            span.evict_payload()
        spans += len(result.spans)
    elapsed = time.perf_counter() - began
    full = [seconds for generation, seconds in pauses if generation == 2]
    with open("/proc/self/statm") as statm:
        rss = int(statm.read().split()[1]) * 4096
    return {
        "spans": spans,
        "seconds": elapsed,
        "longest_full": max(full, default=0.0),
        "full_passes": len(full),
        "collector": sum(seconds for _, seconds in pauses),
        "rss": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=600_000)
    parser.add_argument("--child", nargs=2, metavar=("FILE", "FREEZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(follow(args.child[0], args.child[1] == "1")))
        return

    from ingest import generate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "live.otlp.jsonl"
        spans = generate(path, args.spans)
        print(f"generated {spans:,} spans, {path.stat().st_size / 1e6:,.0f} MB")
        runs = {}
        for name, freeze in (("baseline", "0"), ("orchtui", "1")):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path), freeze], capture_output=True, text=True, check=True
            ).stdout
            runs[name] = json.loads(out)
        for name, run in runs.items():
            print(
                f"{name:>8}: {run['spans']:,} spans followed in {run['seconds']:.1f} s; {run['full_passes']} full "
                f"collections, the longest {run['longest_full'] * 1e3:,.0f} ms; collector {run['collector']:.1f} s in "
                f"all; RSS {run['rss'] / 1e6:,.0f} MB"
            )
        base, ours = runs["baseline"], runs["orchtui"]
        print(
            f"longest full collection: {ours['longest_full'] / base['longest_full']:.3f}x the baseline's; collector "
            f"time {ours['collector'] / base['collector']:.2f}x; RSS {ours['rss'] / base['rss']:.2f}x"
        )


if __name__ == "__main__":
    main()
