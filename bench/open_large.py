"""Opening a large file: time to the first traces on screen, time to fully loaded, and peak memory.

Generates an OTLP/JSON file of `--spans` spans with the ingest benchmark's realistic agent traces, opens it in
the real app headless (`run_test()`), and reports when the first rows appear on screen (target under 1 s; the
file is read in chunks, so this should not depend on the file's size), when loading finished, and the peak RSS as
a fraction of the file size (target at most 0.5). The time to the first screen of a 1,000-span file, measured in
the same run, is the baseline ratio. Then the detail of random steps all over the file (target under 100 ms):
every tab rendered, from a cold payload cache, so each step's payload is read back from the file
(parsers/payloads.py).

The file is opened as `orchtui open` opens it: its second part read by a worker process forked before the app
starts (orchtui/split_load.py); `--one-process` reads it all in the app's process.

    python bench/open_large.py [--spans 1000000] [--max-spans N] [--file existing.jsonl] [--one-process]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from ingest import generate  # noqa: E402

from orchtui.sources.factory import sources_for  # noqa: E402
from orchtui.sources.files import start_file_workers  # noqa: E402
from parsers import payloads  # noqa: E402
from tui.app import make_app  # noqa: E402
from tui.widgets.detail import TABS  # noqa: E402

DETAIL_SAMPLES = 200


def detail_times(app) -> list[float]:
    """Seconds to show and render every tab of the detail of random steps, each from a cold payload cache."""
    rng = random.Random(3)
    trace_ids = app.index.store.trace_ids()
    in_file = sum(span.payload_evicted for snapshot in app.index.store.snapshots() for span in snapshot.spans)
    print(
        f"payloads in the file, not in memory: {in_file:,} of {app.index.store.span_count:,} spans "
        f"({payloads.stats.reads:,} records read back while loading)"
    )
    reads = payloads.stats.reads
    times = []
    for _ in range(DETAIL_SAMPLES):
        analysis = app.index.get(rng.choice(trace_ids))
        span = rng.choice(analysis.tree.ordered)
        payloads.forget()
        began = time.perf_counter()
        app.detail.show(analysis, span.span_id)
        for tab in TABS:
            app.detail.render_tab(tab)
        times.append(time.perf_counter() - began)
    assert payloads.stats.reads - reads >= DETAIL_SAMPLES // 2, "the detail samples should read payloads back"
    return times


async def open_file(
    path: Path, max_spans: int | None, details: list[float] | None = None, workers: bool = True, stalls: list[float] | None = None
) -> tuple[float, float, int, int]:
    """(seconds to first rows on screen, seconds to fully loaded, traces listed, spans held); with `details`,
    the detail times of random steps are appended to it; with `stalls`, the time between turns of the app's event
    loop while loading (asked every 10 ms: a long one is a frozen screen). As `orchtui open` opens it: a big file's second part
    read by a worker process (orchtui/split_load.py), unless `workers` is False."""
    began = time.perf_counter()
    sources = sources_for([str(path)])
    if workers:
        start_file_workers(sources)
    app = make_app(sources, max_spans=max_spans, save_dir=path.parent)
    first = None
    gaps = stalls if stalls is not None else []
    tick = time.perf_counter()

    async def turn() -> None:
        """Let the app's event loop run for 10 ms; the time that took goes to `gaps`."""
        nonlocal tick
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        gaps.append(now - tick)
        tick = now

    async with app.run_test(size=(160, 50)):
        tick = time.perf_counter()
        while True:
            await turn()
            if first is None and app.trace_list.rows:
                first = time.perf_counter() - began
            if first is not None and app.load_finished:
                break
        app.request_rows()
        while not app.rows_settled:  # the last row listing reached the screen
            await turn()
        loaded = time.perf_counter() - began
        for _ in range(100):  # and a second more: a collection pass over what was loaded would come now
            await turn()
        if details is not None:
            details.extend(detail_times(app))
        return first, loaded, len(app.trace_list.rows), app.index.store.span_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--max-spans", type=int, default=None, help="bound the store (whole-trace eviction)")
    parser.add_argument("--file", type=Path, help="open this file instead of generating one")
    parser.add_argument("--one-process", action="store_true", help="no worker process (ORCHTUI_JOBS=1)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.otlp.jsonl"
        generate(small, 1_000)
        big = args.file
        if big is None:
            big = Path(tmp) / "large.otlp.jsonl"
            began = time.perf_counter()
            spans = generate(big, args.spans)
            print(f"generated {spans:,} spans, {big.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - began:.0f}s")
        baseline_first, _, _, _ = asyncio.run(open_file(small, None))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        details: list[float] = []
        stalls: list[float] = []
        first, loaded, traces, held = asyncio.run(open_file(big, args.max_spans, details, not args.one_process, stalls))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        size = big.stat().st_size
        print(f"first traces on screen: {first:.2f}s ({first / baseline_first:.2f}x a 1,000-span file's {baseline_first:.2f}s)")
        print(f"fully loaded: {loaded:.1f}s, {traces:,} traces listed, {held:,} spans held")
        print(
            f"peak RSS: {peak / 1e6:,.0f} MB = {peak / size:.2f}x the file size; opening it added "
            f"{(peak - rss_before) / 1e6:,.0f} MB = {(peak - rss_before) / size:.2f}x (target: 0.5x)"
        )
        print(
            f"the app's event loop while loading, asked every 10 ms: longest stall {max(stalls) * 1e3:,.0f} ms, "
            f"p99 {statistics.quantiles(stalls, n=100)[98] * 1e3:.0f} ms over {len(stalls):,} turns"
        )
        cut = statistics.quantiles(details, n=20)
        print(
            f"detail of a random step, every tab, payload read back from the file: p50 {statistics.median(details) * 1e3:.1f} ms, "
            f"p95 {cut[18] * 1e3:.1f} ms, max {max(details) * 1e3:.1f} ms over {len(details)} steps (target: under 100 ms)"
        )


if __name__ == "__main__":
    main()
