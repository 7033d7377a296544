"""Tail latency: from a span's line being written to a followed file to the span being in the store.

Appends `--spans` one-span lines to a file followed by `FileFollower` (in small bursts, like an exporter), each
line carrying its write time, and reports p50/p99 of write -> delivered into the store. The baseline, measured in
the same run, is the raw file-event latency of `watchfiles` itself with the same settings (write -> event), so the
ratio is what reading, parsing and storing add on top of the notification. Target: p99 under 100 ms.

    python bench/tail_latency.py [--spans 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stats import percentile  # noqa: E402

from orchtui.sources.follow import DEBOUNCE_MS, STEP_MS, FileFollower  # noqa: E402
from orchtui.store import SpanStore  # noqa: E402


def span_line(number: int) -> bytes:
    now = time.perf_counter()
    span = {
        "traceId": f"{number // 10 + 1:032x}",
        "spanId": f"{number + 1:016x}",
        "name": f"{now!r}",  # the write time travels in the span
        "startTimeUnixNano": str(time.time_ns()),
        "endTimeUnixNano": str(time.time_ns()),
        "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": "TOOL"}}],
    }
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}) + b"\n"


def write_slowly(path: Path, count: int) -> None:
    with open(path, "ab", buffering=0) as out:
        for number in range(count):
            out.write(span_line(number))
            if number % 5 == 4:
                time.sleep(0.01)  # bursts of 5 lines every 10 ms: ~500 spans/s


def follower_latencies(count: int) -> list[float]:
    latencies: list[float] = []
    done = threading.Event()
    store = SpanStore()

    def deliver(spans):
        now = time.perf_counter()
        store.add(spans)
        latencies.extend(now - float(span.name) for span in spans)
        if len(latencies) >= count:
            done.set()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spans.jsonl"
        path.write_bytes(b"")
        follower = FileFollower([str(path)], deliver, lambda errors, skipped: None)
        follower.start()
        time.sleep(0.3)
        write_slowly(path, count)
        done.wait(30)
        follower.stop()
    return latencies


def watchfiles_latencies(count: int) -> list[float]:
    """write -> watchfiles event, same debounce/step: the floor any watcher-based follower sits on."""
    from watchfiles import watch

    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spans.jsonl"
        path.write_bytes(b"")
        stop = threading.Event()
        writes: list[float] = []

        def watcher():
            seen = 0
            for _ in watch(tmp, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop):
                now = time.perf_counter()
                pending = writes[seen:]
                latencies.extend(now - w for w in pending)
                seen += len(pending)

        thread = threading.Thread(target=watcher, daemon=True)
        thread.start()
        time.sleep(0.3)
        with open(path, "ab", buffering=0) as out:
            for number in range(count):
                writes.append(time.perf_counter())
                out.write(b"x\n")
                if number % 5 == 4:
                    time.sleep(0.01)
        time.sleep(0.5)
        stop.set()
        thread.join(5)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1000)
    args = parser.parse_args()
    base = watchfiles_latencies(args.spans)
    ours = follower_latencies(args.spans)
    assert len(ours) == args.spans, f"lost spans: {len(ours)} of {args.spans}"
    for name, values in (("watchfiles event (baseline)", base), ("orchtui tail, write -> store", ours)):
        print(f"{name}: p50 {percentile(values, 50) * 1000:.1f} ms, p99 {percentile(values, 99) * 1000:.1f} ms ({len(values)} spans)")
    print(f"tail: p99 {percentile(ours, 99) * 1000:.1f} ms, {statistics.median(ours) / statistics.median(base):.2f}x the raw event latency (median)")


if __name__ == "__main__":
    main()
