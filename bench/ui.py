"""UI latency benchmark: keypress to repaint with 100,000 traces listed, a 10,000-span trace expanded, and the
Routes screen open while traces stream in.

Drives the real app headless with Textual's `run_test()`. Each key event is posted to the app and timed until
the next frame reaches the display stage (`App._display` receives the compositor's update): keypress to repaint,
without Pilot's idle-detection waits. The same presses on a 10-trace app, measured in the same run, are the
baseline, so the ratio shows what the data size costs on this machine. Target: p95 under 50 ms.

The routes case moves through the Routes screen (about 200 routes over the 100k traces) while a thread adds
STREAM_PER_SECOND new traces a second to the index, as a live source would: every trace is analysed and put in
its route on that thread, and the screen recomputes its stats in a worker twice a second.

    python bench/ui.py [--traces 100000] [--big-trace 10000] [--presses 150]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stats import percentile  # noqa: E402

from textual import events  # noqa: E402

from orchtui.live import TraceIndex  # noqa: E402
from parsers.span import LLM, OK, TOOL, Span, Tokens  # noqa: E402
from tui.app import OrchApp  # noqa: E402

START = 1_760_000_000_000_000_000
STREAM_PER_SECOND = 1000  # new traces a second while the Routes screen is measured (3,000 spans a second)
STREAM_BATCH = 50


def small_trace(number: int) -> list[Span]:
    trace_id = f"{number:032x}"
    start = START + number * 1_000_000
    root = Span(trace_id, f"{number:08x}00000001", None, f"workflow_{number % 97}", "agent", start, start + 900_000, OK)
    llm = Span(trace_id, f"{number:08x}00000002", root.span_id, "chat", LLM, start + 1000, start + 500_000, OK,
               model="gpt-4o" if number % 5 == 0 else "gpt-4o-mini", tokens=Tokens(500 + number % 300, 40, 540 + number % 300), finish_reasons=("stop",), stop_reason="stop")
    tool = Span(trace_id, f"{number:08x}00000003", root.span_id, "search", TOOL, start + 600_000, start + 800_000, OK,
                tool_name="search", tool_args={"q": number % 13})
    return [root, llm, tool]


def big_trace(spans: int) -> list[Span]:
    """One agent run of `spans` steps: turns of an LLM call and a tool call under a chain per turn."""
    trace_id = "b" * 32
    start = START + 10**15
    root = Span(trace_id, "big-root", None, "big_run", "agent", start, start + spans * 1_000_000, OK)
    result = [root]
    turn = 0
    while len(result) < spans:
        turn += 1
        base = start + turn * 3_000_000
        chain = Span(trace_id, f"turn-{turn}", root.span_id, f"turn {turn}", "chain", base, base + 2_500_000, OK)
        llm = Span(trace_id, f"llm-{turn}", chain.span_id, "chat", LLM, base + 10, base + 1_000_000, OK,
                   model="gpt-4o", tokens=Tokens(900, 30, 930), finish_reasons=("tool_calls",), stop_reason="tool_calls")
        tool = Span(trace_id, f"tool-{turn}", chain.span_id, "fetch", TOOL, base + 1_100_000, base + 2_000_000, OK,
                    tool_name="fetch", tool_args={"page": turn})
        result += [chain, llm, tool]
    return result[:spans]


def build_index(traces: int, big: int) -> TraceIndex:
    index = TraceIndex()
    batch: list[Span] = []
    for number in range(traces):
        batch += small_trace(number)
        if len(batch) >= 30_000:
            index.add(batch)
            batch = []
    index.add(batch + big_trace(big))
    return index


async def press_and_time(app: OrchApp, frames: list[float], key: str) -> float:
    """Post one key and return the seconds until the next frame is displayed."""
    began = time.perf_counter()
    app.post_message(events.Key(key, key if len(key) == 1 else None))
    deadline = began + 5
    while time.perf_counter() < deadline:
        if frames and frames[-1] > began:
            latency = next(stamp for stamp in frames if stamp > began) - began
            await asyncio.sleep(0.02)  # let trailing updates (detail pane) finish before the next key
            return latency
        await asyncio.sleep(0.0005)
    raise TimeoutError(f"no frame after pressing {key!r}")


class Stream:
    """Adds new small traces to the index from a thread at STREAM_PER_SECOND until stopped."""

    def __init__(self, index: TraceIndex, first: int) -> None:
        self.index, self.next = index, first
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.wait(STREAM_BATCH / STREAM_PER_SECOND):
            batch = [span for number in range(self.next, self.next + STREAM_BATCH) for span in small_trace(number)]
            self.next += STREAM_BATCH
            self.index.add(batch)

    def __enter__(self) -> "Stream":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()


async def measure(index: TraceIndex, presses: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"list j/k": [], "tree j/k": [], "routes j/k, streaming": []}
    with tempfile.TemporaryDirectory() as tmp:
        app = OrchApp(index, save_dir=tmp)
        async with app.run_test(size=(160, 50)) as pilot:
            frames: list[float] = []
            display = app._display

            def timed_display(screen, renderable):
                display(screen, renderable)
                if renderable is not None:
                    frames.append(time.perf_counter())

            app._display = timed_display  # type: ignore[method-assign]
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            for i in range(presses):
                timings["list j/k"].append(await press_and_time(app, frames, "j" if (i // 20) % 2 == 0 else "k"))
            big = index.get("b" * 32)
            app.jump_to_trace(big.trace_id)
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("enter", "right_square_bracket")  # focus the steps, expand everything
            await pilot.pause()
            print(f"  step tree: {app.step_tree.last_line + 1:,} lines expanded")
            for i in range(presses):
                timings["tree j/k"].append(await press_and_time(app, frames, "j" if (i // 20) % 2 == 0 else "k"))
            await pilot.press("r")
            await app.workers.wait_for_complete()
            await pilot.pause()
            with Stream(index, first=10_000_000) as stream:
                for i in range(presses):
                    timings["routes j/k, streaming"].append(await press_and_time(app, frames, "j" if (i // 20) % 2 == 0 else "k"))
            print(f"  routes: {len(app.screen.stats):,} rows; {stream.next - 10_000_000:,} traces streamed in meanwhile")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--big-trace", type=int, default=10_000)
    parser.add_argument("--presses", type=int, default=150)
    args = parser.parse_args()

    began = time.perf_counter()
    large = build_index(args.traces, args.big_trace)
    print(f"built {len(large):,} traces, {large.store.span_count:,} spans in {time.perf_counter() - began:.1f}s")
    baseline = asyncio.run(measure(build_index(10, 60), args.presses))
    measured = asyncio.run(measure(large, args.presses))
    for name in measured:
        big, small = measured[name], baseline[name]
        p50, p95 = percentile(big, 50) * 1000, percentile(big, 95) * 1000
        ratio = statistics.median(big) / statistics.median(small)
        print(f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms; {ratio:.2f}x the 10-trace baseline "
              f"(p50 {percentile(small, 50) * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
